// A scriptable stand-in for nats-server: the test decides every byte sent to the client, so it
// can send split frames, garbage, or stop answering PINGs.
import { createServer, type Socket } from 'node:net';

/** One client connection accepted by the fake server. */
export interface FakeConnection {
  readonly socket: Socket;
  /** Every complete line received from the client (without CRLF); payloads show up as lines. */
  readonly lines: readonly string[];
  /** Answer client `PING`s with `PONG` (default true); set false to play a dead server. */
  autoPong: boolean;
  /** Writes raw bytes or text exactly as given. */
  send(data: string | Uint8Array): void;
  /** Sends `INFO {...}\r\n` built from `fakeInfo(overrides)`. */
  sendInfo(overrides?: Record<string, unknown>): void;
  /** Resolves with the next not-yet-matched client line matching `pattern`. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Sends INFO, waits for CONNECT and PING, answers PONG; resolves with the CONNECT JSON. */
  handshake(info?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Closes the socket (FIN); `destroy()` resets it. */
  close(): void;
  destroy(): void;
}

/** A running fake server. */
export interface FakeServer {
  readonly port: number;
  readonly url: string;
  readonly connections: readonly FakeConnection[];
  /** Errors thrown by the handler (the connection is destroyed when that happens). */
  readonly errors: readonly unknown[];
  close(): Promise<void>;
}

/** A plausible 2.9.10 INFO object for the fake server. */
export function fakeInfo(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...{ server_id: 'NFAKESERVER', server_name: 'fake', version: '2.9.10', proto: 1 },
    ...{ go: 'go1.19.8', host: '127.0.0.1', port: 4222, headers: true, max_payload: 1048576 },
    ...{ client_id: 1, client_ip: '127.0.0.1' },
    ...overrides,
  };
}

function wrap(socket: Socket): FakeConnection {
  const lines: string[] = [];
  const waiters = new Set<() => boolean>();
  let partial = '';
  let matched = 0;
  socket.setEncoding('latin1');
  socket.on('error', () => {});
  socket.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\r\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (conn.autoPong && line === 'PING') socket.write('PONG\r\n');
    }
    for (const w of waiters) if (w()) waiters.delete(w);
  });
  const conn: FakeConnection = {
    socket,
    lines,
    autoPong: true,
    send: (data) => void socket.write(data),
    sendInfo: (overrides) => void socket.write(`INFO ${JSON.stringify(fakeInfo(overrides))} \r\n`),
    waitFor: (pattern, timeoutMs = 5000) =>
      new Promise<string>((resolve, reject) => {
        const test = (l: string): boolean =>
          typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l);
        const check = (): boolean => {
          const i = lines.findIndex((l, n) => n >= matched && test(l));
          if (i < 0) return false;
          matched = i + 1;
          clearTimeout(timer);
          resolve(lines[i]);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake server: no client line matching ${String(pattern)}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
    async handshake(info) {
      conn.sendInfo(info);
      const line = await conn.waitFor(/^CONNECT /i);
      await conn.waitFor(/^PING$/i);
      if (!conn.autoPong) socket.write('PONG\r\n');
      return JSON.parse(line.slice(8)) as Record<string, unknown>;
    },
    close: () => void socket.end(),
    destroy: () => void socket.destroy(),
  };
  return conn;
}

/**
 * Starts a fake server on a random loopback port. `handler` runs for every accepted connection;
 * nothing is sent to the client unless the handler sends it.
 */
export function startFakeServer(
  handler: (conn: FakeConnection) => void | Promise<void>,
): Promise<FakeServer> {
  const connections: FakeConnection[] = [];
  const errors: unknown[] = [];
  const server = createServer((socket) => {
    const conn = wrap(socket);
    connections.push(conn);
    Promise.resolve()
      .then(() => handler(conn))
      .catch((err: unknown) => {
        errors.push(err);
        conn.destroy();
      });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        url: `nats://127.0.0.1:${port}`,
        connections,
        errors,
        close: () =>
          new Promise<void>((done) => {
            connections.forEach((c) => c.destroy());
            server.close(() => done());
          }),
      });
    });
  });
}
