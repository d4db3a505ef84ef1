import { ProtocolError } from '../errors.js';

// Subjects up to this long are remembered for the next message.
const SUBJECT_CACHE_MAX = 128;

/** Receives the operations the parser finds, in order. Called synchronously from `parse()`. */
export interface ParserSink {
  onMsg(
    subject: string,
    sid: number,
    reply: string,
    headers: Uint8Array | null,
    payload: Uint8Array,
  ): void;
  onInfo(info: Record<string, unknown>): void;
  onPing(): void;
  onPong(): void;
  onOk(): void;
  onErr(message: string): void;
}

const CR = 13;
const LF = 10;
/** Longest control line accepted from the server; INFO with many connect_urls stays far below. */
export const MAX_INBOUND_CONTROL_LINE = 64 * 1024;
/** Largest payload accepted from a server; far above any sane max_payload, it stops absurd sizes. */
export const MAX_INBOUND_PAYLOAD = 64 * 1024 * 1024;

// Field offsets of a MSG/HMSG control line: start/end pairs, filled by splitFields().
const fieldStart = new Int32Array(6);
const fieldEnd = new Int32Array(6);

/**
 * An incremental parser for server-to-client operations. Feed it socket chunks split anywhere;
 * complete operations go to the sink. Payloads that arrive whole are handed out as views of the
 * chunk (no copy); split ones are assembled into one buffer. Malformed input throws
 * `ProtocolError`, after which the parser must be discarded.
 */
export class Parser {
  // A control line split across chunks.
  private carry: Buffer | null = null;
  // A payload split across chunks: its pieces (views of the chunks, assembled once complete,
  // so memory follows the bytes received rather than the size a server announces).
  private parts: Buffer[] | null = null;
  private partsLen = 0;
  private need = 0;
  private msgSubject = '';
  private msgSid = 0;
  private msgReply = '';
  private msgHeaderLen = -1;
  private failed = false;
  private lastSubject = '';
  // The last subject's bytes, copied into one reused buffer (no allocation per new subject).
  private readonly lastSubjectBytes = Buffer.alloc(SUBJECT_CACHE_MAX);
  private lastSubjectLen = -1;

  constructor(private readonly sink: ParserSink) {}

  parse(chunk: Buffer): void {
    if (this.failed) throw new ProtocolError('parser used after a protocol error');
    try {
      this.run(chunk);
    } catch (err) {
      this.failed = true;
      throw err instanceof ProtocolError
        ? err
        : new ProtocolError(`parser failure: ${String(err)}`);
    }
  }

  private run(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.parts !== null) {
      pos = this.fillBody(chunk);
      if (this.parts !== null) return;
    } else if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const len = buf.length;
    while (pos < len) {
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        if (len - pos > MAX_INBOUND_CONTROL_LINE) throw new ProtocolError('control line too long');
        this.carry = Buffer.from(buf.subarray(pos));
        return;
      }
      if (nl - pos > MAX_INBOUND_CONTROL_LINE) throw new ProtocolError('control line too long');
      if (nl === pos || buf[nl - 1] !== CR)
        throw new ProtocolError(`control line not terminated by CRLF: ${preview(buf, pos, nl)}`);
      const end = nl - 1; // exclusive end of the line's text
      const op = buf[pos] | 0x20; // lower-case ASCII letters; ops are case-insensitive
      if (op === 0x6d /* m */ && isOp(buf, pos, end, 'msg')) {
        pos = this.msg(buf, pos + 3, end, nl + 1, false);
      } else if (op === 0x68 /* h */ && isOp(buf, pos, end, 'hmsg')) {
        pos = this.msg(buf, pos + 4, end, nl + 1, true);
      } else if (op === 0x70 /* p */ && end - pos === 4 && isOp(buf, pos, end, 'ping')) {
        pos = nl + 1;
        this.sink.onPing();
      } else if (op === 0x70 && end - pos === 4 && isOp(buf, pos, end, 'pong')) {
        pos = nl + 1;
        this.sink.onPong();
      } else if (op === 0x69 /* i */ && isOp(buf, pos, end, 'info')) {
        const info = parseInfo(buf.toString('utf8', pos + 4, end));
        pos = nl + 1;
        this.sink.onInfo(info);
      } else if (buf[pos] === 0x2b /* + */ && end - pos === 3 && isOp(buf, pos, end, '+ok')) {
        pos = nl + 1;
        this.sink.onOk();
      } else if (buf[pos] === 0x2d /* - */ && isOp(buf, pos, end, '-err')) {
        const text = buf
          .toString('utf8', pos + 4, end)
          .trim()
          .replace(/^'(.*)'$/s, '$1');
        pos = nl + 1;
        this.sink.onErr(text);
      } else {
        throw new ProtocolError(`unknown protocol operation: ${preview(buf, pos, end)}`);
      }
    }
  }

  /** Parses `MSG subj sid [reply] size` / `HMSG subj sid [reply] hsize tsize`, then its payload. */
  private msg(buf: Buffer, from: number, end: number, bodyStart: number, headers: boolean): number {
    if (from < end && !isSpace(buf[from]))
      throw new ProtocolError(`malformed ${headers ? 'HMSG' : 'MSG'}: ${preview(buf, from, end)}`);
    const n = splitFields(buf, from, end);
    const min = headers ? 4 : 3;
    if (n < min || n > min + 1)
      throw new ProtocolError(`malformed ${headers ? 'HMSG' : 'MSG'}: ${preview(buf, from, end)}`);
    const subject = this.subjectAt(buf, fieldStart[0], fieldEnd[0]);
    const sid = parseSize(buf, 1);
    const reply = n === min + 1 ? buf.toString('utf8', fieldStart[2], fieldEnd[2]) : '';
    const total = parseSize(buf, n - 1);
    const headerLen = headers ? parseSize(buf, n - 2) : -1;
    if (total > MAX_INBOUND_PAYLOAD) throw new ProtocolError(`message size ${total} is too large`);
    if (headerLen > total)
      throw new ProtocolError(`header size ${headerLen} exceeds total size ${total}`);
    const stop = bodyStart + total; // index of the CR that ends the payload
    if (stop + 2 <= buf.length) {
      if (buf[stop] !== CR || buf[stop + 1] !== LF)
        throw new ProtocolError('payload not terminated by CRLF');
      this.deliver(buf, bodyStart, stop, subject, sid, reply, headerLen);
      return stop + 2;
    }
    // The payload continues in later chunks.
    this.parts = [buf.subarray(bodyStart)];
    this.partsLen = buf.length - bodyStart;
    this.need = total + 2;
    this.msgSubject = subject;
    this.msgSid = sid;
    this.msgReply = reply;
    this.msgHeaderLen = headerLen;
    return buf.length;
  }

  /**
   * The subject string of `buf[start..end)`. Streams mostly repeat a few subjects, so the last
   * one is kept and reused when the bytes match: a short compare instead of a string decode.
   */
  private subjectAt(buf: Buffer, start: number, end: number): string {
    const last = this.lastSubjectBytes;
    const len = end - start;
    if (len === this.lastSubjectLen) {
      let i = 0;
      while (i < len && buf[start + i] === last[i]) i++;
      if (i === len) return this.lastSubject;
    }
    const subject = buf.toString('utf8', start, end);
    if (len <= SUBJECT_CACHE_MAX) {
      buf.copy(last, 0, start, end);
      this.lastSubjectLen = len;
      this.lastSubject = subject;
    }
    return subject;
  }

  /** Takes what the pending payload still needs from `chunk`; returns how much it consumed. */
  private fillBody(chunk: Buffer): number {
    const parts = this.parts as Buffer[];
    const used = Math.min(chunk.length, this.need - this.partsLen);
    parts.push(chunk.subarray(0, used));
    this.partsLen += used;
    if (this.partsLen < this.need) return used;
    const body = Buffer.concat(parts, this.need);
    this.parts = null;
    const stop = body.length - 2;
    if (body[stop] !== CR || body[stop + 1] !== LF) {
      throw new ProtocolError('payload not terminated by CRLF');
    }
    this.deliver(body, 0, stop, this.msgSubject, this.msgSid, this.msgReply, this.msgHeaderLen);
    return used;
  }

  private deliver(
    buf: Buffer,
    start: number,
    stop: number,
    subject: string,
    sid: number,
    reply: string,
    headerLen: number,
  ): void {
    if (headerLen < 0) {
      this.sink.onMsg(subject, sid, reply, null, buf.subarray(start, stop));
      return;
    }
    const split = start + headerLen;
    // A header block starts with "NATS/" and ends with an empty line; anything else means the
    // sizes do not describe the bytes.
    if (
      headerLen < 12 ||
      buf[start] !== 0x4e ||
      buf[start + 4] !== 0x2f ||
      buf[split - 1] !== LF ||
      buf[split - 2] !== CR ||
      buf[split - 3] !== LF ||
      buf[split - 4] !== CR
    ) {
      throw new ProtocolError(`header block does not match its length (${headerLen} bytes)`);
    }
    this.sink.onMsg(subject, sid, reply, buf.subarray(start, split), buf.subarray(split, stop));
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

/** Case-insensitive match of the op name at `pos`, followed by whitespace or the end of line. */
function isOp(buf: Buffer, pos: number, end: number, name: string): boolean {
  const n = name.length;
  if (end - pos < n) return false;
  for (let i = 0; i < n; i++) {
    const b = buf[pos + i];
    const lower = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
    if (lower !== name.charCodeAt(i)) return false;
  }
  return end - pos === n || isSpace(buf[pos + n]);
}

/** Splits on runs of spaces and tabs (the server sends runs); returns the field count (max 6). */
function splitFields(buf: Buffer, from: number, end: number): number {
  let n = 0;
  let i = from;
  while (i < end) {
    while (i < end && isSpace(buf[i])) i++;
    if (i >= end) break;
    if (n === 6) return 7;
    fieldStart[n] = i;
    while (i < end && !isSpace(buf[i])) i++;
    fieldEnd[n++] = i;
  }
  return n;
}

function parseSize(buf: Buffer, field: number): number {
  const s = fieldStart[field];
  const e = fieldEnd[field];
  if (e - s > 10) throw new ProtocolError(`number too long: ${preview(buf, s, e)}`);
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) throw new ProtocolError(`expected a number, got ${preview(buf, s, e)}`);
    v = v * 10 + d;
  }
  return v;
}

function parseInfo(text: string): Record<string, unknown> {
  let info: unknown;
  try {
    info = JSON.parse(text.trim());
  } catch {
    throw new ProtocolError(`INFO is not valid JSON: ${text.slice(0, 80)}`);
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info))
    throw new ProtocolError('INFO is not a JSON object');
  return info as Record<string, unknown>;
}

function preview(buf: Buffer, from: number, to: number): string {
  return JSON.stringify(buf.toString('latin1', from, Math.min(to, from + 64)));
}
