// Faults a real server cannot produce on demand, played by the fake server: malformed input,
// silence, PONGs that stop, a socket that stops draining.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthorizationError,
  ConnectionClosedError,
  ConnectionError,
  ProtocolError,
  ReconnectBufferFullError,
  connect,
  type ConnectOptions,
  type NatsConnection,
  type NatsError,
  type Status,
} from '../../lib/core/index.js';
import {
  startFakeServer,
  type FakeConnection,
  type FakeServer,
  recordStatus,
} from '../support/index.js';

const fakes: FakeServer[] = [];
const open: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/** A fake server whose first connection runs `first` after the handshake; later ones behave. */
async function fakeServer(first: (conn: FakeConnection) => unknown): Promise<FakeServer> {
  let n = 0;
  const fake = await startFakeServer(async (conn) => {
    const i = n++;
    await conn.handshake();
    if (i === 0) await first(conn);
  });
  fakes.push(fake);
  return fake;
}

interface Client {
  nc: NatsConnection;
  errors: NatsError[];
  seen: Status[];
}

async function client(fake: FakeServer, opts: ConnectOptions = {}): Promise<Client> {
  const errors: NatsError[] = [];
  const nc = await connect({
    servers: fake.url,
    reconnectTimeWait: 50,
    reconnectJitter: 10,
    onError: (e) => errors.push(e),
    ...opts,
  });
  open.push(nc);
  const seen = recordStatus(nc);
  return { nc, errors, seen };
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const disconnectError = (seen: Status[]): Error | undefined => {
  const d = seen.find((s) => s.type === 'disconnect');
  return d?.type === 'disconnect' ? d.error : undefined;
};

const MALFORMED: Array<[string, string]> = [
  ['an unknown operation', 'HELLO world\r\n'],
  ['a size that is not a number', 'MSG fault.sub 1 abc\r\nhello\r\n'],
  ['a negative size', 'MSG fault.sub 1 -5\r\nhello\r\n'],
  ['too many MSG fields', 'MSG fault.sub 1 r x y z 5\r\nhello\r\n'],
  ['a payload longer than its size', 'MSG fault.sub 1 2\r\nhello\r\n'],
  ['an absurd size', 'MSG fault.sub 1 9999999999\r\n'],
  ['an oversized control line', `MSG ${'a'.repeat(70 * 1024)}`],
  [
    'a header block that does not match its length',
    'HMSG fault.sub 1 20 22\r\nNATS/1.0\r\n\r\nhello!!!ab\r\n',
  ],
  ['a header block that is not one', 'HMSG fault.sub 1 12 14\r\nNOT/HEADERS!hi\r\n'],
  ['INFO that is not JSON', 'INFO {oops\r\n'],
  ['a line ending in a bare LF', 'PING\n'],
];

describe('hostile or broken servers', () => {
  it.each(MALFORMED)('reports a ProtocolError and reconnects cleanly after %s', async (_, bad) => {
    const fake = await fakeServer(async (conn) => {
      await conn.waitFor(/^SUB fault\.sub /);
      conn.send(bad);
    });
    const c = await client(fake);
    const sub = c.nc.subscribe('fault.sub');
    await waitUntil(() => c.seen.some((s) => s.type === 'reconnect'), 'a reconnect');
    const protocolErrors = c.errors.filter((e) => e instanceof ProtocolError);
    expect(protocolErrors).toHaveLength(1);
    expect(protocolErrors[0].code).toBe('PROTOCOL_ERROR');
    expect(disconnectError(c.seen)).toBe(protocolErrors[0]);
    expect(sub.isClosed).toBe(false);
    // The new connection gets the subscription back and works both ways.
    const second = fake.connections[1];
    const sid = (await second.waitFor(/^SUB fault\.sub /)).split(' ').at(-1);
    c.nc.publish('fault.pub', 'out');
    await second.waitFor(/^PUB fault\.pub 3$/);
    second.send(`MSG fault.sub ${sid} 2\r\nin\r\n`);
    expect((await sub.nextMsg(2000)).string()).toBe('in');
    expect(fake.connections).toHaveLength(2);
  });

  it('closes with the ProtocolError when reconnect is off, failing pending requests', async () => {
    const fake = await fakeServer(async (conn) => {
      await conn.waitFor(/^PUB svc /);
      conn.send('\x00\x01garbage\r\n');
    });
    const c = await client(fake, { reconnect: false });
    const pending = c.nc.request('svc', 'x', { timeout: 5000 }).catch((e: unknown) => e);
    const closedWith = await c.nc.closed();
    expect(closedWith).toBeInstanceOf(ProtocolError);
    expect((closedWith as ProtocolError).code).toBe('PROTOCOL_ERROR');
    const err = await pending;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).code).toBe('CONNECTION_CLOSED');
  });

  it('rejects connect() with a ProtocolError when the server greets with garbage', async () => {
    const fake = await startFakeServer((conn) => conn.send('SSH-2.0-OpenSSH_9.6\r\n'));
    fakes.push(fake);
    const err = await connect({ servers: fake.url }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('PROTOCOL_ERROR');
  });

  it('rejects connect() with a ConnectionError when the server never sends INFO', async () => {
    const fake = await startFakeServer(() => undefined);
    fakes.push(fake);
    const started = Date.now();
    const err = await connect({ servers: fake.url, timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('CONNECTION_ERROR');
    expect((err as Error).message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports a fatal -ERR and reconnects', async () => {
    const fake = await fakeServer(async (conn) => {
      await sleep(50);
      conn.send("-ERR 'Unknown Protocol Operation'\r\n");
      conn.close();
    });
    const c = await client(fake);
    await waitUntil(() => c.seen.some((s) => s.type === 'reconnect'), 'a reconnect');
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toBeInstanceOf(ConnectionError);
    expect(c.errors[0].code).toBe('CONNECTION_ERROR');
    expect(c.errors[0].message).toContain('Unknown Protocol Operation');
    expect(disconnectError(c.seen)).toBe(c.errors[0]);
  });

  it('keeps a fatal -ERR that arrives together with the handshake PONG as the reason', async () => {
    let n = 0;
    const fake = await startFakeServer(async (conn) => {
      if (n++ > 0) return void (await conn.handshake());
      conn.autoPong = false;
      conn.sendInfo();
      await conn.waitFor(/^PING$/);
      conn.send("PONG\r\n-ERR 'User Authentication Revoked'\r\n");
      conn.close();
    });
    fakes.push(fake);
    const c = await client(fake);
    await waitUntil(() => c.seen.some((s) => s.type === 'reconnect'), 'a reconnect');
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toBeInstanceOf(AuthorizationError);
    expect(c.errors[0].code).toBe('AUTHENTICATION_REVOKED');
    expect(disconnectError(c.seen)).toBe(c.errors[0]);
  });

  it('waits reconnectTimeWait before retrying a server that drops it right after each handshake', async () => {
    // Every connection: a good handshake, then a fatal -ERR instead of the PONG to the client's
    // next PING (what a server does over a frame it refuses, replayed on every reconnect).
    let connections = 0;
    const refusing = await startFakeServer(async (conn) => {
      connections++;
      await conn.handshake();
      conn.autoPong = false;
      await conn.waitFor(/^PING$/);
      conn.send("-ERR 'maximum control line exceeded'\r\n");
      conn.close();
    });
    fakes.push(refusing);
    const c = await client(refusing, {
      reconnectTimeWait: 200,
      reconnectJitter: 0,
      maxReconnectAttempts: -1,
    });
    await sleep(1000);
    // Without the wait: one connection per round trip, dozens a second.
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(connections).toBeLessThanOrEqual(7);
    expect(c.errors.length).toBeGreaterThanOrEqual(1);
    expect(c.errors[0].message).toContain('maximum control line exceeded');
  });

  it('detects a server that stopped answering PINGs and reconnects', async () => {
    const fake = await fakeServer((conn) => {
      conn.autoPong = false;
    });
    const started = Date.now();
    const c = await client(fake, { pingInterval: 100, maxPingsOut: 2 });
    const flushed = c.nc.flush();
    await waitUntil(() => c.seen.some((s) => s.type === 'reconnect'), 'a reconnect');
    expect(Date.now() - started).toBeLessThan(1500);
    const err = disconnectError(c.seen);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('CONNECTION_ERROR');
    expect((err as Error).message).toMatch(/stale/i);
    // A flush that was waiting on the dead connection completes on the new one.
    await expect(flushed).resolves.toBeUndefined();
    c.nc.publish('after.stale', 'ok');
    await fake.connections[1].waitFor(/^PUB after\.stale 2$/);
  });

  it('holds publishers back when the socket stops draining, bounded, then reports the stall', async () => {
    let n = 0;
    const fake = await startFakeServer(async (conn) => {
      if (n++ > 0) return; // later connections never get an INFO
      await conn.handshake();
      conn.socket.pause(); // stop reading: the client's socket backs up
    });
    fakes.push(fake);
    const c = await client(fake, {
      writeHighWaterMark: 256 * 1024,
      reconnectBufferSize: 1024 * 1024,
      pingInterval: 400,
      maxPingsOut: 2,
      timeout: 300,
    });
    const payload = new Uint8Array(64 * 1024);
    let published = 0;
    let failure: unknown;
    const publisher = (async () => {
      try {
        for (;;) {
          await c.nc.publish('flood', payload);
          published++;
        }
      } catch (err) {
        failure = err;
      }
    })();
    await sleep(300);
    const held = published;
    await sleep(300);
    expect(c.seen.filter((s) => s.type === 'disconnect')).toEqual([]);
    expect(published).toBe(held); // held back, not spinning
    expect(held * payload.length).toBeLessThan(64 * 1024 * 1024);
    // The stale-connection check ends the stall; publishes then fill the reconnect buffer.
    await publisher;
    const err = disconnectError(c.seen);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(/stale/i);
    expect(failure).toBeInstanceOf(ReconnectBufferFullError);
    expect((failure as ReconnectBufferFullError).code).toBe('RECONNECT_BUFFER_FULL');
    expect(published - held).toBeLessThanOrEqual(16);
  });

  it('sends what a dropped socket had not taken on the next connection, in order, once', async () => {
    // A stalled server: its buffers and then the client's fill up.
    const fake = await fakeServer((conn) => conn.socket.pause());
    const first = (): FakeConnection => fake.connections[0];
    const c = await client(fake, {
      pingInterval: 200,
      maxPingsOut: 2,
      writeHighWaterMark: 256 * 1024,
    });
    const count = 20_000;
    const body = 'x'.repeat(1000);
    for (let i = 0; i < count; i++) {
      try {
        const pressure = c.nc.publish(`seq.${i}`, body);
        if (pressure) await pressure;
      } catch (err) {
        if (!(err instanceof ReconnectBufferFullError)) throw err;
        i--; // the reconnect buffer is full: wait for the new connection
        await sleep(20);
      }
    }
    await c.nc.flush();
    expect(c.seen.filter((s) => s.type === 'reconnect')).toHaveLength(1);
    // What the dropped socket handed the kernel reaches the fake server after the drop. The fake
    // must not answer it: data sent to a closed socket makes its kernel reset the connection,
    // which throws away whatever it still held, and, depending on when the reads run (every time
    // on Node 24), the reset reaches the fake server before the end of the stream.
    first().autoPong = false;
    await new Promise((r) => first().socket.once('close', r).resume());
    const seqs = (conn: FakeConnection): number[] => {
      const out: number[] = [];
      const { lines } = conn;
      for (let i = 0; i + 1 < lines.length; i++) {
        const m = /^PUB seq\.(\d+) (\d+)$/.exec(lines[i]);
        // A frame cut short by the drop has no complete payload line.
        if (m && lines[i + 1].length === Number(m[2])) out.push(Number(m[1]));
      }
      return out;
    };
    const before = seqs(first());
    const after = seqs(fake.connections[1]);
    const all = [...before, ...after];
    expect(new Set(all).size).toBe(all.length); // nothing twice
    // Each connection got an unbroken run, and the new one goes on to the last message. What the
    // kernel had taken reached the fake server; between the runs is only the rest of the one
    // write the socket was handing the kernel when it was dropped (the client gives a socket
    // more only once it holds nothing, and joins queued chunks into writes of 256 KiB at most).
    // Everything the socket had not taken was kept and sent again, whatever the publisher did
    // before the socket's 'close' event.
    expect(before).toEqual(before.map((_, i) => i));
    expect(after).toEqual(after.map((_, i) => after[0] + i));
    expect(after[after.length - 1]).toBe(count - 1);
    expect((after[0] - before.length) * 1030).toBeLessThanOrEqual(256 * 1024 + 1030);
  }, 30_000);

  it('releases a held-back publisher with ConnectionClosedError on close()', async () => {
    const fake = await fakeServer((conn) => conn.socket.pause());
    const c = await client(fake, { writeHighWaterMark: 256 * 1024, pingInterval: 0 });
    const payload = new Uint8Array(64 * 1024);
    let failure: unknown;
    const publisher = (async () => {
      try {
        for (;;) await c.nc.publish('flood', payload);
      } catch (err) {
        failure = err;
      }
    })();
    await sleep(300);
    expect(failure).toBeUndefined();
    const started = Date.now();
    await c.nc.close();
    await publisher;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(failure).toBeInstanceOf(ConnectionClosedError);
    expect((failure as ConnectionClosedError).code).toBe('CONNECTION_CLOSED');
  });
});
