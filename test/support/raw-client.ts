// A bare `net` socket speaking just enough of the protocol to check a server from tests without
// going through the client under test.
import { connect, type Socket } from 'node:net';

/** A parsed INFO object. */
export type ServerInfo = Record<string, unknown>;

/** A raw protocol connection that records every line the server sends. */
export interface RawClient {
  readonly socket: Socket;
  /** The first INFO the server sent. */
  readonly info: ServerInfo;
  /** Every line received so far (without CRLF), INFO included. */
  readonly lines: readonly string[];
  /** Writes raw text (add your own `\r\n`). */
  send(text: string): void;
  /** Sends `CONNECT` with safe defaults plus `fields`, then `PING`. */
  connect(fields?: Record<string, unknown>): void;
  /** Resolves with the next not-yet-matched line that matches `pattern` (substring or RegExp). */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once the server closed the socket. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Builds a `CONNECT {...}\r\n` line; verbose and pedantic are off unless overridden. */
export function connectLine(fields: Record<string, unknown> = {}): string {
  const body = { verbose: false, pedantic: false, protocol: 1, headers: true, ...fields };
  return `CONNECT ${JSON.stringify(body)}\r\n`;
}

/** Parses an `INFO {...}` line. */
export function parseInfo(line: string): ServerInfo {
  if (!line.startsWith('INFO ')) throw new Error(`expected INFO, got: ${line.slice(0, 80)}`);
  return JSON.parse(line.slice(5).trim()) as ServerInfo;
}

/**
 * Opens a raw socket, waits for the server's INFO and returns a client that records lines and
 * (by default) answers the server's PINGs.
 */
export function rawConnect(
  port: number,
  opts: { host?: string; timeoutMs?: number; autoPong?: boolean } = {},
): Promise<RawClient> {
  const { host = '127.0.0.1', timeoutMs = 5000, autoPong = true } = opts;
  const socket = connect({ port, host });
  const lines: string[] = [];
  let partial = '';
  let matched = 0;
  let lastError: Error | undefined;
  const waiters = new Set<{ check(): boolean; fail(err: Error): void }>();

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.setEncoding('latin1');
  socket.on('error', (err) => (lastError = err));
  socket.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\r\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (autoPong && line === 'PING') socket.write('PONG\r\n');
    }
    for (const w of waiters) if (w.check()) waiters.delete(w);
  });
  void closed.then(() => {
    const reason = lastError ? `: ${lastError.message}` : '';
    for (const w of waiters) w.fail(new Error(`connection closed${reason}`));
    waiters.clear();
  });

  const waitFor = (pattern: string | RegExp, ms = timeoutMs): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const test = (l: string): boolean =>
        typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
        const seen = lines.slice(-10).join(' | ').slice(0, 2000);
        reject(new Error(`${err.message} while waiting for ${String(pattern)}; seen: ${seen}`));
      };
      const waiter = {
        check(): boolean {
          for (let i = matched; i < lines.length; i++) {
            if (test(lines[i])) {
              matched = i + 1;
              clearTimeout(timer);
              resolve(lines[i]);
              return true;
            }
          }
          return false;
        },
        fail,
      };
      const timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms`)), ms);
      if (waiter.check()) return;
      if (socket.destroyed) return fail(new Error('connection closed'));
      waiters.add(waiter);
    });

  const client: Omit<RawClient, 'info'> = {
    socket,
    lines,
    closed,
    send: (text) => void socket.write(text),
    connect: (fields) => void socket.write(connectLine(fields) + 'PING\r\n'),
    waitFor,
    close: () => socket.destroy(),
  };
  return waitFor(/^INFO /).then(
    (line) => ({ ...client, info: parseInfo(line) }),
    (err: unknown) => {
      socket.destroy();
      throw err;
    },
  );
}

/** Connects, reads the INFO line and disconnects. */
export async function readInfo(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 2000,
): Promise<ServerInfo> {
  const client = await rawConnect(port, { host, timeoutMs, autoPong: false });
  client.close();
  return client.info;
}
