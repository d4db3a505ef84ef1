// NATS over WebSocket (ws://, wss://) against nats-server websocket listeners; a small fake
// WebSocket server (node:net, below) plays the faults a real server cannot produce on demand.
import { createHash } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import {
  AuthorizationError,
  connect,
  ConnectionError,
  type ConnectOptions,
  InvalidOptionError,
  type NatsConnection,
  ProtocolError,
} from '../../lib/core/index.js';
import {
  type NatsServerHandle,
  recordStatus,
  startServer,
  stopAllServers,
  tlsFixtures,
  type TlsFixtures,
} from '../support/index.js';
import { jetstream, jetstreamManager } from '../../lib/jetstream/index.js';
import '../../lib/kv/index.js';
import { Conns, waitUntil } from './resilience-helpers.js';

afterAll(stopAllServers);

const conns = new Conns();
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await conns.closeAll();
  await Promise.all(closers.splice(0).map((c) => c()));
});

const client = (opts: ConnectOptions): Promise<NatsConnection> =>
  conns.connect({ timeout: 3000, ...opts });

/** The error `connect(opts)` rejects with. */
async function refused(opts: ConnectOptions): Promise<Error> {
  return connect({ timeout: 3000, reconnect: false, ...opts }).then(
    (nc) => {
      conns.track(nc);
      throw new Error('connected');
    },
    (err: Error) => err,
  );
}

const until = (check: () => boolean, ms = 10_000): Promise<void> =>
  waitUntil(check, 'the condition', ms);

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 9)) & 0xff;
  return b;
}

/** A TCP relay that counts the bytes coming from the server. */
async function countingProxy(target: number): Promise<{ port: number; fromServer: () => number }> {
  let fromServer = 0;
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(downstream).add(upstream);
    upstream.on('data', (b: Buffer) => (fromServer += b.length));
    downstream.pipe(upstream).pipe(downstream);
    for (const s of [downstream, upstream]) s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => stop(server, sockets));
  return { port: (server.address() as { port: number }).port, fromServer: () => fromServer };
}

function stop(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

const variants = [
  { name: 'ws://', tls: false },
  { name: 'wss://', tls: true },
] as const;

describe.each(variants)('over $name', ({ tls }) => {
  let fixtures: TlsFixtures;
  let server: NatsServerHandle;
  let compressing: NatsServerHandle;
  let opts: () => ConnectOptions;

  beforeAll(async () => {
    fixtures = await tlsFixtures();
    [server, compressing] = await Promise.all([
      startServer({ jetstream: true, websocket: { tls } }),
      startServer({ websocket: { tls, compression: true } }),
    ]);
    opts = () => ({ servers: server.wsUrl!, ...(tls ? { tls: { caFile: fixtures.caFile } } : {}) });
  });

  it('carries a 1 MiB payload (split across frames and chunks) both ways', async () => {
    const nc = await client(opts());
    expect(nc.connectedUrl).toBe(server.wsUrl);
    const sub = nc.subscribe('big');
    const payload = pattern(1024 * 1024);
    void nc.publish('big', payload);
    const msg = await sub.nextMsg(5000);
    expect(Buffer.from(msg.data).equals(Buffer.from(payload))).toBe(true);
  });

  it('answers requests', async () => {
    const nc = await client(opts());
    nc.subscribe('echo', { callback: (m) => m.respond(`re: ${m.string()}`) });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => nc.request('echo', `q${i}`, { timeout: 3000 })),
    );
    expect(replies.map((r) => r.string())).toEqual(replies.map((_, i) => `re: q${i}`));
  });

  it('publishes to JetStream and consumes, and puts and gets KV entries', async () => {
    const nc = await client(opts());
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = `WS${tls ? 'S' : ''}`;
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: 'memory' });
    const acks = await Promise.all([1, 2, 3].map((i) => js.publish(`${stream}.a`, `m${i}`)));
    expect(acks.map((a) => a.seq)).toEqual([1, 2, 3]);
    await jsm.consumers.add(stream, { durableName: 'c', ackPolicy: 'explicit' });
    const consumer = await js.consumers.get(stream, 'c');
    const got = await consumer.fetch(3, { timeout: 3000 });
    expect(got.map((m) => m.string())).toEqual(['m1', 'm2', 'm3']);
    await Promise.all(got.map((m) => m.ackSync()));
    const kv = await js.createKeyValue({ bucket: `kv${tls ? 's' : ''}`, storage: 'memory' });
    const rev = await kv.put('k', 'v1');
    expect((await kv.get('k'))?.revision).toBe(rev);
    expect(Buffer.from((await kv.get('k'))!.value).toString()).toBe('v1');
  });

  it('reconnects after the server restarts on the same port; a subscription keeps working', async () => {
    const nc = await client({ ...opts(), reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const events = recordStatus(nc);
    const got: string[] = [];
    nc.subscribe('after', { callback: (m) => got.push(m.string()) });
    await nc.flush();
    await server.restart();
    await until(() => events.some((e) => e.type === 'reconnect'));
    expect(nc.connectedUrl).toBe(server.wsUrl);
    const other = await client(opts());
    void other.publish('after', 'still here');
    await other.flush();
    await until(() => got.length === 1);
    expect(got).toEqual(['still here']);
    expect(nc.stats().reconnects).toBe(1);
  });

  it('compresses when the server accepts permessage-deflate, unless turned off', async () => {
    const data = new Uint8Array(256 * 1024).fill(97);
    const received = async (target: NatsServerHandle, wsCompression?: boolean): Promise<number> => {
      const proxy = await countingProxy(Number(new URL(target.wsUrl!).port));
      const nc = await client({
        ...opts(),
        servers: `${tls ? 'wss' : 'ws'}://127.0.0.1:${proxy.port}`,
        ...(wsCompression === undefined ? {} : { wsCompression }),
      });
      const sub = nc.subscribe('z');
      void nc.publish('z', data);
      const msg = await sub.nextMsg(5000);
      expect(Buffer.from(msg.data).equals(data)).toBe(true);
      return proxy.fromServer();
    };
    expect(await received(compressing)).toBeLessThan(data.length / 10);
    expect(await received(compressing, false)).toBeGreaterThan(data.length);
    expect(await received(server)).toBeGreaterThan(data.length);
  });

  if (tls) {
    it('rejects a certificate it cannot verify, as tls:// does', async () => {
      const err = await refused({ servers: server.wsUrl!, tls: { caFile: fixtures.otherCaFile } });
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err.message).toMatch(/certificate|self.signed|verify/i);
      const noCa = await refused({ servers: server.wsUrl! });
      expect(noCa).toBeInstanceOf(ConnectionError);
      const wrongName = await refused({
        servers: server.wsUrl!,
        tls: { caFile: fixtures.caFile, servername: 'wrong.example' },
      });
      expect(wrongName).toBeInstanceOf(ConnectionError);
    });
  } else {
    it('refuses tls settings with a ws:// server with InvalidOptionError', async () => {
      const err = await refused({ servers: server.wsUrl!, tls: { caFile: fixtures.caFile } });
      expect(err).toBeInstanceOf(InvalidOptionError);
    });

    it('works in a list that mixes schemes', async () => {
      const nc = await client({
        servers: ['nats://127.0.0.1:1', server.wsUrl!],
        noRandomize: true,
      });
      expect(nc.connectedUrl).toBe(server.wsUrl);
    });
  }
});

// ---- a fake WebSocket server for the faults ------------------------------------------------

interface FakeWs {
  socket: Socket;
  requestLine: string;
  headers: Map<string, string>;
  /** What the client sent in its frames, unmasked, as text. */
  received: () => string;
  /** Sends 101 with the right accept key (or `accept`), plus `extra` header lines. */
  accept(accept?: string, extra?: string[]): void;
  frame(opcode: number, payload: Buffer | string): void;
  /** INFO, then PONG to the client's CONNECT + PING. */
  natsHandshake(): Promise<void>;
  waitFor(text: string): Promise<void>;
}

async function fakeWsServer(
  onClient: (ws: FakeWs) => void | Promise<void>,
): Promise<{ url: string; clients: FakeWs[] }> {
  const clients: FakeWs[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let ws: FakeWs | undefined;
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!ws) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [requestLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
        buf = buf.subarray(end + 4);
        const headers = new Map(
          lines.map((l) => [
            l.slice(0, l.indexOf(':')).toLowerCase(),
            l.slice(l.indexOf(':') + 1).trim(),
          ]),
        );
        ws = makeFake(socket, requestLine, headers, () => text);
        clients.push(ws);
        void onClient(ws);
      }
      // Client frames: always masked, never fragmented by this client.
      for (;;) {
        if (buf.length < 2) return;
        const len7 = buf[1] & 0x7f;
        const at = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (buf.length < at + 4) return;
        const len =
          len7 === 126 ? buf.readUInt16BE(2) : len7 === 127 ? Number(buf.readBigUInt64BE(2)) : len7;
        if (buf.length < at + 4 + len) return;
        const key = buf.subarray(at, at + 4);
        const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
        for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
        if ((buf[0] & 0x0f) === 0x2) text += payload.toString('latin1');
        else text += `<op ${buf[0] & 0x0f}:${payload.toString('latin1')}>`;
        buf = buf.subarray(at + 4 + len);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => stop(server, sockets));
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, clients };
}

function makeFake(
  socket: Socket,
  requestLine: string,
  headers: Map<string, string>,
  received: () => string,
): FakeWs {
  const waitFor = async (t: string): Promise<void> => until(() => received().includes(t), 5000);
  const fake: FakeWs = {
    socket,
    requestLine,
    headers,
    received,
    accept(accept, extra = []) {
      const key = headers.get('sec-websocket-key') ?? '';
      const good = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      const lines = [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${accept ?? good}`,
        ...extra,
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    },
    frame(opcode, payload) {
      const body = Buffer.from(payload);
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, body.length]), body]));
    },
    async natsHandshake() {
      fake.frame(
        2,
        `INFO {"server_id":"FAKE","version":"2.14.10","proto":1,"headers":true,"max_payload":1048576}\r\n`,
      );
      await waitFor('PING\r\n');
      fake.frame(2, 'PONG\r\n');
    },
    waitFor,
  };
  return fake;
}

const closeBody = (code: number, reason: string): Buffer =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

describe('WebSocket faults (fake server)', () => {
  it('reports the status code and reason of a server that closes the WebSocket', async () => {
    const fake = await fakeWsServer((ws) => {
      ws.accept();
      ws.frame(8, closeBody(1008, 'Authentication Failure'));
    });
    const err = await refused({ servers: fake.url });
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toContain('1008');
    expect(err.message).toContain('Authentication Failure');
    // The client echoes the status before it goes.
    await fake.clients[0].waitFor('<op 8:');
    expect(fake.clients[0].received()).toContain(
      `<op 8:${closeBody(1008, '').toString('latin1')}>`,
    );
  });

  it('reports a close status that ends an established connection in the disconnect event', async () => {
    const fake = await fakeWsServer(async (ws) => {
      ws.accept();
      await ws.natsHandshake();
    });
    const nc = await client({ servers: fake.url, reconnect: false });
    const events = recordStatus(nc);
    fake.clients[0].frame(8, closeBody(1001, 'Server Shutdown'));
    const err = await nc.closed();
    expect(err).toBeInstanceOf(ConnectionError);
    expect(String((err as Error).message)).toMatch(/1001.*Server Shutdown/);
    await until(() => events.some((e) => e.type === 'disconnect'));
    const disconnect = events.find((e) => e.type === 'disconnect');
    expect(disconnect && 'error' in disconnect ? String(disconnect.error) : '').toContain('1001');
  });

  it('fails with ProtocolError on bytes after the upgrade that are no WebSocket frame', async () => {
    const fake = await fakeWsServer((ws) => {
      ws.accept();
      ws.socket.write('garbage\r\n');
    });
    expect(await refused({ servers: fake.url })).toBeInstanceOf(ProtocolError);
  });

  it('fails with ProtocolError on frames that carry no NATS protocol', async () => {
    const fake = await fakeWsServer((ws) => {
      ws.accept();
      ws.frame(2, 'GARBAGE IN\r\n');
    });
    expect(await refused({ servers: fake.url })).toBeInstanceOf(ProtocolError);
  });

  it('fails with ProtocolError when Sec-WebSocket-Accept does not match the key', async () => {
    const fake = await fakeWsServer((ws) => ws.accept('dGhpcyBpcyBub3QgaXQ='));
    const err = await refused({ servers: fake.url });
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/Sec-WebSocket-Accept/);
  });

  it('fails with ProtocolError when the server accepts compression that was not offered', async () => {
    const fake = await fakeWsServer((ws) =>
      ws.accept(undefined, [
        'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover',
      ]),
    );
    const err = await refused({ servers: fake.url, wsCompression: false });
    expect(err).toBeInstanceOf(ProtocolError);
    expect(fake.clients[0].headers.has('sec-websocket-extensions')).toBe(false);
  });

  it('reports a proxy refusing the upgrade with 401 as AuthorizationError', async () => {
    const fake = await fakeWsServer((ws) => {
      ws.socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    });
    const err = await refused({ servers: fake.url });
    expect(err).toBeInstanceOf(AuthorizationError);
    expect(err.message).toContain('401');
  });

  it('sends the URL path and the wsHeaders, calling the function on every connect', async () => {
    const fake = await fakeWsServer(async (ws) => {
      ws.accept();
      await ws.natsHandshake();
    });
    let calls = 0;
    const nc = await client({
      servers: `${fake.url}/nats/proxy?room=1`,
      reconnectTimeWait: 50,
      wsHeaders: () => Promise.resolve({ Authorization: `Bearer token-${++calls}` }),
    });
    expect(nc.connectedUrl).toBe(`${fake.url}/nats/proxy`);
    const events = recordStatus(nc);
    fake.clients[0].socket.destroy();
    await until(() => events.some((e) => e.type === 'reconnect'));
    expect(fake.clients.map((c) => c.requestLine)).toEqual([
      'GET /nats/proxy?room=1 HTTP/1.1',
      'GET /nats/proxy?room=1 HTTP/1.1',
    ]);
    expect(fake.clients.map((c) => c.headers.get('authorization'))).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(fake.clients[1].headers.get('sec-websocket-extensions')).toContain('permessage-deflate');
  });

  it('answers a ping frame with a pong carrying the same bytes', async () => {
    const fake = await fakeWsServer(async (ws) => {
      ws.accept();
      await ws.natsHandshake();
    });
    await client({ servers: fake.url });
    fake.clients[0].frame(9, 'are you there');
    await fake.clients[0].waitFor('<op 10:are you there>');
  });

  it('reports a wsHeaders function that throws without its message', async () => {
    const err = await refused({
      servers: 'ws://127.0.0.1:1',
      wsHeaders: () => {
        throw new Error('vault said s3cret');
      },
    });
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).not.toContain('s3cret');
  });
});
