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
