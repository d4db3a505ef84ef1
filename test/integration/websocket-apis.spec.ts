// The APIs above the core client over WebSocket (services, the Object Store), cluster gossip of
// WebSocket URLs with failover, and a restart while a large publish is in flight.
import { createHash, randomBytes } from 'node:crypto';
import type { ConnectOptions } from '../../lib/core/index.js';
import { jetstream } from '../../lib/jetstream/index.js';
import '../../lib/obj/index.js';
import '../../lib/services/index.js';
import type { ServiceMsg } from '../../lib/services/index.js';
import {
  type NatsCluster,
  type NatsServerHandle,
  recordStatus,
  startCluster,
  startServer,
  stopAllServers,
  tlsFixtures,
  type TlsFixtures,
} from '../support/index.js';
import { Conns, waitUntil } from './resilience-helpers.js';

afterAll(stopAllServers);

const conns = new Conns();
afterEach(() => conns.closeAll());

const until = (check: () => boolean, what: string, ms = 10_000): Promise<void> =>
  waitUntil(check, what, ms);

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const variants = [
  { name: 'ws://', tls: false },
  { name: 'wss://', tls: true },
] as const;

describe.each(variants)('over $name', ({ tls }) => {
  let fixtures: TlsFixtures;
  let server: NatsServerHandle;
  let opts: (extra?: ConnectOptions) => ConnectOptions;

  beforeAll(async () => {
    fixtures = await tlsFixtures();
    server = await startServer({ jetstream: true, websocket: { tls } });
    opts = (extra = {}) => ({
      servers: server.wsUrl!,
      timeout: 3000,
      ...(tls ? { tls: { caFile: fixtures.caFile } } : {}),
      ...extra,
    });
  });

  it('serves a service that discovery (PING, INFO, STATS) finds, and answers its endpoint', async () => {
    const host = await conns.connect(opts());
    const svc = await host.addService({ name: 'wsecho', version: '1.0.0', description: 'echo' });
    svc.addEndpoint('echo', {
      subject: 'wsecho.echo',
      handler: (req: ServiceMsg) => void req.respond(`echo ${req.string()}`),
    });
    await host.flush();
    const caller = await conns.connect(opts());
    const reply = await caller.request('wsecho.echo', 'hi', { timeout: 3000 });
    expect(reply.string()).toBe('echo hi');
    const [ping] = await caller.services.ping('wsecho');
    expect(ping).toMatchObject({ name: 'wsecho', id: svc.info().id, version: '1.0.0' });
    const [info] = await caller.services.info('wsecho');
    expect(info.endpoints.map((e) => e.subject)).toEqual(['wsecho.echo']);
    const [stats] = await caller.services.stats('wsecho', svc.info().id);
    expect(stats.endpoints[0]).toMatchObject({ name: 'echo', numRequests: 1, numErrors: 0 });
  });

  it('puts and gets a multi-chunk Object Store object', async () => {
    const nc = await conns.connect(opts());
    const os = await jetstream(nc).createObjectStore({
      bucket: `wsobj${tls ? 's' : ''}`,
      storage: 'memory',
    });
    // 3 MiB in 128 KiB chunks: 24 chunks, some of them larger than one WebSocket frame read.
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const info = await os.put({ name: 'blob', maxChunkSize: 128 * 1024 }, data);
    expect(info.chunks).toBe(24);
    expect(info.size).toBe(data.length);
    const back = await os.getBytes('blob');
    expect(back?.length).toBe(data.length);
    expect(sha(back!)).toBe(sha(data));
  });

  it('survives a restart while a 1 MiB publish is in flight: no corrupt frames, then traffic flows', async () => {
    const watcher = await conns.connect({ servers: server.url, maxReconnectAttempts: -1 });
    const big: Uint8Array[] = [];
    const small: string[] = [];
    watcher.subscribe('inflight.big', { callback: (m) => big.push(m.data) });
    watcher.subscribe('inflight.small', { callback: (m) => small.push(m.string()) });
    await watcher.flush();
    const nc = await conns.connect(opts({ reconnectTimeWait: 100, maxReconnectAttempts: -1 }));
    const events = recordStatus(nc);
    const errors: unknown[] = [];
    void nc.closed().then((err) => err && errors.push(err));
    const payload = new Uint8Array(randomBytes(1024 * 1024));
    // Queued in the outbound buffer and partly on the socket when the server dies.
    void Promise.resolve(nc.publish('inflight.big', payload)).catch((e: unknown) => errors.push(e));
    await server.kill();
    await server.restart();
    await until(() => events.some((e) => e.type === 'reconnect'), 'the ws client to reconnect');
    expect(nc.connectedUrl).toBe(server.wsUrl);
    await until(() => watcher.isConnected, 'the watcher to reconnect');
    await watcher.flush();
    for (let i = 0; i < 5; i++) await nc.publish('inflight.small', `after ${i}`);
    await nc.flush();
    await until(() => small.length === 5, 'the messages after the restart');
    expect(small).toEqual(['after 0', 'after 1', 'after 2', 'after 3', 'after 4']);
    // The big message either went through whole (resent after the reconnect) or was lost with
    // the old socket, never cut or mangled.
    for (const b of big) expect(sha(b)).toBe(sha(payload));
    expect(errors).toEqual([]);
    expect(nc.isClosed).toBe(false);
  });
});

describe('cluster gossip over WebSocket', () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { websocket: {} });
  });
  afterAll(() => cluster?.stop());

  it('learns the ws:// URLs of the other nodes and fails over to one of them over ws', async () => {
    expect(cluster.wsUrls).toHaveLength(3);
    const [first] = cluster.wsUrls;
    const nc = await conns.connect({
      servers: first,
      noRandomize: true,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
    // A WebSocket client is told the WebSocket listeners, not the TCP ports (cluster.urls).
    await until(() => nc.servers.length === 3, 'the gossiped ws URLs');
    expect([...nc.servers].sort()).toEqual([...cluster.wsUrls].sort());
    expect(nc.servers.some((u) => cluster.urls.includes(u))).toBe(false);
    const events = recordStatus(nc);
    const got: string[] = [];
    nc.subscribe('gossip.after', { callback: (m) => got.push(m.string()) });
    await nc.flush();
    await cluster.servers[0].kill();
    await until(() => events.some((e) => e.type === 'reconnect'), 'failover');
    expect(nc.connectedUrl).toMatch(/^ws:\/\//);
    expect(cluster.wsUrls.slice(1)).toContain(nc.connectedUrl);
    const other = await conns.connect({ servers: cluster.urls[2] });
    await until(() => {
      void other.publish('gossip.after', 'moved');
      return got.length > 0;
    }, 'traffic on the new node');
    expect(got[0]).toBe('moved');
  });

  it('keeps the configured URL path for the node it was given; gossiped nodes use /', async () => {
    const nc = await conns.connect({
      servers: `${cluster.wsUrls[1]}/nats`,
      noRandomize: true,
      reconnectTimeWait: 100,
    });
    expect(nc.connectedUrl).toBe(`${cluster.wsUrls[1]}/nats`);
    await until(() => nc.servers.length >= 2, 'the gossiped ws URLs');
    expect(nc.servers).toContain(`${cluster.wsUrls[1]}/nats`);
    expect(nc.servers.every((u) => u.startsWith('ws://'))).toBe(true);
    // nats-server gossips host:port only; the client does not carry a configured path over.
    expect(nc.discoveredServers.length).toBeGreaterThan(0);
    for (const u of nc.discoveredServers) expect(cluster.wsUrls).toContain(u);
  });
});
