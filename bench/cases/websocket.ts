// NATS over WebSocket: ours with a `ws://` server URL against nats.js's `wsconnect`, which runs on
// the `ws` package (a devDependency) as its WebSocket. Both go to the WebSocket listener of a
// private server (bench/websocket-server.ts); the runner's server has none.
import type { BenchCase, BenchGroup } from '../types.js';
import { withWebSocketServer } from '../websocket-server.js';
import { inFlight, publishOnly, withResponder, type NatsJsConnector } from './core.js';

/** nats.js over a WebSocket built by the `ws` package. */
const natsJsOverWs: NatsJsConnector = async (url) => {
  const [{ wsconnect }, { WebSocket }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('ws'),
  ]);
  return wsconnect({
    servers: url,
    wsFactory: (u: string) => {
      const socket = new WebSocket(u);
      // nats.js reads binary messages as ArrayBuffers.
      socket.binaryType = 'arraybuffer';
      return Promise.resolve({
        socket: socket as unknown as globalThis.WebSocket,
        encrypted: u.startsWith('wss'),
      });
    },
  });
};

const cases: BenchCase[] = [
  {
    id: 'ws-pub-16',
    description:
      'pub-16 over WebSocket: 1,000,000 publishes of 16 B in a tight loop to a ws:// listener, ' +
      'then flush. nats.js is `wsconnect` with the `ws` package.',
    metrics: [{ key: 'rate', label: 'ws publish 16 B', unit: 'msgs/s', better: 'higher' }],
    run: (client) =>
      withWebSocketServer((server) =>
        publishOnly(client, server.wsUrl, 1_000_000, 16, natsJsOverWs),
      ),
  },
  {
    id: 'ws-req-100',
    description:
      'req-100 over WebSocket: 200,000 requests of 128 B with 100 in flight, requester and ' +
      'responder both on ws:// connections.',
    metrics: [
      { key: 'rate', label: 'ws requests, 100 in flight', unit: 'msgs/s', better: 'higher' },
    ],
    run: (client) =>
      withWebSocketServer((server) =>
        withResponder(client, server.wsUrl, 128, inFlight(200_000, 100), natsJsOverWs),
      ),
  },
];

const group: BenchGroup = { name: 'websocket', cases };
export default group;
