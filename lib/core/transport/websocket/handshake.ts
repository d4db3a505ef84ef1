import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  AuthorizationError,
  ConnectionError,
  InvalidOptionError,
  ProtocolError,
} from '../../errors.js';
import type { ServerEntry } from '../../servers.js';
import { DEFLATE_OFFER, acceptDeflate } from './deflate.js';

// RFC 6455 section 1.3: the accept key is base64(SHA-1(key + this GUID)).
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
// A 101 response is a few hundred bytes; more than this without its blank line is not one.
const MAX_RESPONSE_HEAD = 16 * 1024;
// Headers the handshake itself writes or that would change what the upgrade means.
const RESERVED = /^(host|upgrade|connection|content-length|transfer-encoding|sec-websocket-.*)$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64. */
export function newWsKey(): string {
  return randomBytes(16).toString('base64');
}

/** The `Sec-WebSocket-Accept` a server must answer `key` with. */
export function wsAcceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/**
 * Checks extra handshake headers (option `wsHeaders`, or what its function returned):
 * a plain object of string values, names that are HTTP tokens and none the handshake sets
 * itself, values without line breaks. Throws `InvalidOptionError` naming the header only.
 */
export function checkWsHeaders(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    throw new InvalidOptionError('option wsHeaders must be an object of header names to values');
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new InvalidOptionError(`wsHeaders: bad header name ${name}`);
    if (RESERVED.test(name))
      throw new InvalidOptionError(`wsHeaders: ${name} is set by the WebSocket handshake`);
    // The value is left out of the message: it is likely a secret.
    if (typeof value !== 'string' || /[\r\n\0]/.test(value))
      throw new InvalidOptionError(`wsHeaders: the value of ${name} must be a one-line string`);
  }
  return headers as Record<string, string>;
}

/** The HTTP/1.1 upgrade request for `server`. */
export function upgradeRequest(
  server: ServerEntry,
  key: string,
  headers: Record<string, string>,
  offerDeflate: boolean,
): string {
  const defaultPort = server.scheme === 'wss' ? 443 : 80;
  const host = server.port === defaultPort ? server.hostport.replace(/:\d+$/, '') : server.hostport;
  const lines = [
    `GET ${server.path ?? '/'} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (offerDeflate) lines.push(`Sec-WebSocket-Extensions: ${DEFLATE_OFFER}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The head of the server's HTTP response, and the bytes that followed it (frames). */
export interface UpgradeResponse {
  status: number;
  reason: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Map<string, string>;
  rest: Buffer;
}

/**
 * Reads the HTTP response head from `socket` (paused again once it is in, so no frame is
 * lost before the WebSocket reads it). Rejects with `ConnectionError` when the socket fails or
 * closes first or `timeout` ms pass, `ProtocolError` when it is not an HTTP/1.1 response.
 */
export function readUpgradeResponse(
  socket: Socket,
  server: ServerEntry,
  timeout: number,
): Promise<UpgradeResponse> {
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const done = (err: Error | undefined, res?: UpgradeResponse): void => {
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData).off('error', onError).off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(res!);
      }
    };
    const onData = (chunk: Buffer): void => {
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_RESPONSE_HEAD)
          done(new ProtocolError(`WebSocket handshake with ${server.hostport}: no HTTP response`));
        return;
      }
      try {
        const head = parseHead(received.subarray(0, end).toString('latin1'), server);
        done(undefined, { ...head, rest: received.subarray(end + 4) });
      } catch (err) {
        done(err as Error);
      }
    };
    const onError = (err: Error): void =>
      done(new ConnectionError(`WebSocket handshake with ${server.hostport}: ${err.message}`));
    const onClose = (): void =>
      done(
        new ConnectionError(
          `WebSocket handshake with ${server.hostport}: the server closed the connection`,
        ),
      );
    const timer = setTimeout(
      () => done(new ConnectionError(`WebSocket handshake with ${server.hostport} timed out`)),
      timeout,
    );
    socket.on('data', onData).on('error', onError).on('close', onClose);
  });
}

/**
 * Checks the response against our request: 101, `Upgrade: websocket`, `Connection: Upgrade`,
 * the right `Sec-WebSocket-Accept`, extensions we can honour. Returns whether
 * permessage-deflate is on. A refusal with 401 or 403 is an `AuthorizationError` (a proxy
 * that wants other credentials), any other status a `ConnectionError`, a broken upgrade a
 * `ProtocolError`.
 */
export function checkUpgradeResponse(
  res: UpgradeResponse,
  server: ServerEntry,
  key: string,
  offeredDeflate: boolean,
): boolean {
  const where = `WebSocket handshake with ${server.hostport}`;
  if (res.status !== 101) {
    const msg = `${where}: the server answered ${res.status} ${res.reason}`.trimEnd();
    if (res.status === 401 || res.status === 403) throw new AuthorizationError(msg);
    throw new ConnectionError(msg);
  }
  const h = res.headers;
  if (h.get('upgrade')?.toLowerCase() !== 'websocket')
    throw new ProtocolError(`${where}: no Upgrade: websocket in the 101 response`);
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(h.get('connection') ?? ''))
    throw new ProtocolError(`${where}: no Connection: Upgrade in the 101 response`);
  if (h.get('sec-websocket-accept') !== wsAcceptKey(key))
    throw new ProtocolError(`${where}: Sec-WebSocket-Accept does not match the key sent`);
  if (h.has('sec-websocket-protocol'))
    throw new ProtocolError(`${where}: the server chose a subprotocol that was not offered`);
  return acceptDeflate(h.get('sec-websocket-extensions'), offeredDeflate);
}

/** Parses the status line and headers of an HTTP response head. */
function parseHead(head: string, s: ServerEntry): Omit<UpgradeResponse, 'rest'> {
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})(?: (.*))?$/.exec(statusLine ?? '');
  if (!m)
    throw new ProtocolError(
      `WebSocket handshake with ${s.hostport}: not an HTTP/1.1 response: ${JSON.stringify(statusLine?.slice(0, 80))}`,
    );
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`WebSocket handshake: bad header line ${line}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers };
}
