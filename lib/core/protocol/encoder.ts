import type { Outbound } from '../transport/outbound.js';

declare global {
  interface Buffer {
    /** Node's internal fast path behind `buf.write(s, offset, 'utf8')`; returns bytes written. */
    utf8Write(text: string, offset: number): number;
  }
}

const CRLF = '\r\n';
// Upper bound of the bytes a string can take in UTF-8, so one reserve() covers the control line.
const maxUtf8 = (s: string): number => s.length * 3;

/**
 * Encodes `PUB subject [reply] size` or `HPUB subject [reply] hsize tsize`, the payload and the
 * closing CRLF into the outbound buffer. `size` must already be `payload`'s byte length.
 */
export function encodePub(
  out: Outbound,
  subject: string,
  reply: string,
  payload: Uint8Array | string,
  size: number,
  headers: Uint8Array | null,
): void {
  const hlen = headers === null ? 0 : headers.length;
  const line =
    headers === null
      ? reply === ''
        ? `PUB ${subject} ${size}\r\n`
        : `PUB ${subject} ${reply} ${size}\r\n`
      : reply === ''
        ? `HPUB ${subject} ${hlen} ${hlen + size}\r\n`
        : `HPUB ${subject} ${reply} ${hlen} ${hlen + size}\r\n`;
  if (!out.connected) out.admit(Buffer.byteLength(line) + hlen + size + 2);
  out.reserve(maxUtf8(line) + hlen + size + 2);
  const buf = out.buf;
  let pos = out.len;
  pos += buf.utf8Write(line, pos);
  if (headers !== null) {
    buf.set(headers, pos);
    pos += hlen;
  }
  if (typeof payload === 'string') {
    if (size > 0) pos += buf.utf8Write(payload, pos);
  } else if (size > 0) {
    buf.set(payload, pos);
    pos += size;
  }
  buf[pos++] = 13;
  buf[pos++] = 10;
  out.len = pos;
}

/**
 * The publish fast path: `prefix` holds the bytes `PUB <subject> ` (validated when cached);
 * the size is written digit by digit and small payloads are copied byte by byte, which beats
 * building a string and `TypedArray.set` for the tiny messages that dominate publish rates.
 */
export function encodePubPrefixed(
  out: Outbound,
  prefix: Buffer,
  reply: string,
  payload: Uint8Array | string,
  size: number,
): void {
  const plen = prefix.length;
  // Subjects are ASCII in practice; the reserve still allows 3 bytes per character.
  const rlen = reply.length;
  if (!out.connected) {
    const replyBytes = rlen > 0 ? Buffer.byteLength(reply) + 1 : 0;
    out.admit(plen + replyBytes + digits(size) + size + 4);
  }
  out.reserve(plen + 3 * rlen + 1 + 12 + size + 2);
  const buf = out.buf;
  let pos = out.len;
  if (plen <= 32) {
    for (let i = 0; i < plen; i++) buf[pos + i] = prefix[i];
  } else {
    buf.set(prefix, pos);
  }
  pos += plen;
  if (rlen > 0) {
    pos += buf.utf8Write(reply, pos);
    buf[pos++] = 32;
  }
  pos = writeDecimal(buf, pos, size);
  buf[pos++] = 13;
  buf[pos++] = 10;
  if (typeof payload === 'string') {
    if (size > 0) pos += buf.utf8Write(payload, pos);
  } else if (size <= 64) {
    for (let i = 0; i < size; i++) buf[pos + i] = payload[i];
    pos += size;
  } else {
    buf.set(payload, pos);
    pos += size;
  }
  buf[pos++] = 13;
  buf[pos++] = 10;
  out.len = pos;
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeDecimal(buf: Buffer, pos: number, n: number): number {
  const end = pos + digits(n);
  let p = end;
  do {
    buf[--p] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return end;
}

/** Encodes a control line such as `SUB foo 1`, `UNSUB 1 5`, `PING`, `PONG`, `CONNECT {...}`. */
export function encodeLine(out: Outbound, line: string): void {
  if (!out.connected) out.admit(Buffer.byteLength(line) + 2);
  out.reserve(maxUtf8(line) + 2);
  out.len += out.buf.utf8Write(line + CRLF, out.len);
}

export const subLine = (subject: string, sid: number, queue?: string): string =>
  queue ? `SUB ${subject} ${queue} ${sid}` : `SUB ${subject} ${sid}`;

export const unsubLine = (sid: number, max?: number): string =>
  max !== undefined && max > 0 ? `UNSUB ${sid} ${max}` : `UNSUB ${sid}`;

/** The whole CONNECT frame followed by PING, as sent during the handshake. */
export function connectFrame(fields: Record<string, unknown>): Buffer {
  return Buffer.from(`CONNECT ${JSON.stringify(fields)}\r\nPING\r\n`, 'utf8');
}
