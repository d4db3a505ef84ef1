import { randomFillSync } from 'node:crypto';
import { ProtocolError } from '../../errors.js';
import { MAX_INFLATED } from './deflate.js';

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

const FIN = 0x80;
const RSV1 = 0x40;
const RSV23 = 0x30;
const MASK = 0x80;
// Control frames carry at most 125 bytes and are never fragmented (section 5.5).
const MAX_CONTROL = 125;

// Mask keys are cut from a block of random bytes, refilled when used up: one call to the
// CSPRNG per 1024 frames instead of one per frame.
const keyBlock = Buffer.allocUnsafe(4096);
let keyAt = keyBlock.length;

function nextKeyOffset(): number {
  if (keyAt === keyBlock.length) {
    randomFillSync(keyBlock);
    keyAt = 0;
  }
  keyAt += 4;
  return keyAt - 4;
}

/**
 * Encodes one client frame: FIN set (unless `fin` is false), RSV1 when `compressed`, the
 * payload masked with a fresh random key as RFC 6455 requires of clients.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  compressed = false,
  fin = true,
): Buffer {
  const len = payload.length;
  const ext = len <= 125 ? 0 : len <= 0xffff ? 2 : 8;
  const head = 2 + ext + 4;
  // The payload starts on a 4-byte boundary of its own allocation, so it can be masked a
  // 32-bit word at a time (the mask key just before it is aligned too).
  const pad = (4 - (head % 4)) % 4;
  const buf = Buffer.allocUnsafeSlow(pad + head + len);
  const frame = buf.subarray(pad);
  frame[0] = (fin ? FIN : 0) | (compressed ? RSV1 : 0) | opcode;
  if (ext === 0) {
    frame[1] = MASK | len;
  } else if (ext === 2) {
    frame[1] = MASK | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = MASK | 127;
    frame.writeUInt32BE(Math.floor(len / 0x1_0000_0000), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  const k = nextKeyOffset();
  keyBlock.copy(frame, 2 + ext, k, k + 4);
  frame.set(payload, head);
  const words = len >>> 2;
  if (words > 0) {
    const key32 = new Uint32Array(buf.buffer, buf.byteOffset + pad + head - 4, 1)[0];
    const body = new Uint32Array(buf.buffer, buf.byteOffset + pad + head, words);
    for (let i = 0; i < words; i++) body[i] ^= key32;
  }
  for (let i = words << 2; i < len; i++) frame[head + i] ^= keyBlock[k + (i & 3)];
  return frame;
}

/** What the decoder hands on. */
export interface FrameSink {
  /**
   * Bytes of a data message, in order. An uncompressed message arrives in pieces as its
   * frames and TCP chunks do; a compressed one whole, inflated, once its last frame is in.
   */
  onData(bytes: Buffer): void;
  /** A complete control frame: CLOSE, PING or PONG. */
  onControl(opcode: number, payload: Buffer): void;
}

/**
 * Decodes the server's frames from TCP chunks, whatever their boundaries. Throws
 * `ProtocolError` on anything RFC 6455 forbids a server to send: a masked frame, reserved
 * bits or opcodes, a fragmented or oversized control frame, a continuation with no message
 * to continue, RSV1 when compression was not negotiated.
 */
export class FrameDecoder {
  // The frame header being read (2 to 10 bytes: servers do not mask).
  private readonly head = Buffer.alloc(10);
  private headLen = 0;
  private inPayload = false;
  private remaining = 0;
  private opcode = 0;
  private fin = false;
  // The opcode of the data message in progress (0: none), and whether it is compressed.
  private message = 0;
  private compressed = false;
  // Fragments of the compressed message in progress, and the payload of a control frame.
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private control: Buffer[] = [];

  /** `inflate` is given when permessage-deflate was negotiated. */
  constructor(
    private readonly sink: FrameSink,
    private readonly inflate?: (parts: Buffer[]) => Buffer,
  ) {}

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.inPayload) {
        pos = this.readHead(chunk, pos);
        if (!this.inPayload) return;
        if (this.remaining === 0) {
          this.endFrame();
          continue;
        }
      }
      const n = Math.min(this.remaining, chunk.length - pos);
      const bytes = chunk.subarray(pos, pos + n);
      pos += n;
      this.remaining -= n;
      if (this.opcode >= Opcode.CLOSE) this.control.push(bytes);
      else if (this.compressed) this.keepCompressed(bytes);
      else this.sink.onData(bytes);
      if (this.remaining === 0) this.endFrame();
    }
  }

  /** Reads header bytes from `chunk` at `pos`; sets `inPayload` once the header is whole. */
  private readHead(chunk: Buffer, pos: number): number {
    const h = this.head;
    while (this.headLen < 2 && pos < chunk.length) h[this.headLen++] = chunk[pos++]!;
    if (this.headLen < 2) return pos;
    const len7 = h[1] & 0x7f;
    const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
    while (this.headLen < need && pos < chunk.length) h[this.headLen++] = chunk[pos++]!;
    if (this.headLen < need) return pos;
    this.headLen = 0;
    let len = len7;
    if (len7 === 126) {
      len = h.readUInt16BE(2);
    } else if (len7 === 127) {
      const hi = h.readUInt32BE(2);
      if (hi > 0x1f_ffff) throw new ProtocolError('WebSocket frame length out of range');
      len = hi * 0x1_0000_0000 + h.readUInt32BE(6);
    }
    this.startFrame(h[0], h[1], len);
    return pos;
  }

  private startFrame(b0: number, b1: number, len: number): void {
    const opcode = b0 & 0x0f;
    const fin = (b0 & FIN) !== 0;
    const rsv1 = (b0 & RSV1) !== 0;
    if (b1 & MASK) throw new ProtocolError('WebSocket frame from the server is masked');
    if (b0 & RSV23) throw new ProtocolError('WebSocket frame has reserved bits set');
    if (opcode >= Opcode.CLOSE) {
      if (opcode > Opcode.PONG) throw new ProtocolError(`unknown WebSocket opcode ${opcode}`);
      if (!fin || len > MAX_CONTROL || rsv1)
        throw new ProtocolError('WebSocket control frame is fragmented, compressed or too long');
      // Control frames may come between the fragments of a message: their bytes go apart.
      this.control = [];
    } else if (opcode === Opcode.CONTINUATION) {
      if (this.message === 0) throw new ProtocolError('WebSocket continuation without a message');
      if (rsv1) throw new ProtocolError('WebSocket continuation frame has RSV1 set');
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.message !== 0) throw new ProtocolError('WebSocket message interrupted by another');
      if (rsv1 && !this.inflate)
        throw new ProtocolError('compressed WebSocket frame, but compression was not negotiated');
      this.message = opcode;
      this.compressed = rsv1;
      this.parts = [];
      this.partsBytes = 0;
    } else {
      throw new ProtocolError(`unknown WebSocket opcode ${opcode}`);
    }
    this.opcode = opcode;
    this.fin = fin;
    this.remaining = len;
    this.inPayload = true;
  }

  /** Holds a piece of a compressed message until its last frame; refuses an endless one. */
  private keepCompressed(bytes: Buffer): void {
    this.partsBytes += bytes.length;
    if (this.partsBytes > MAX_INFLATED)
      throw new ProtocolError('compressed WebSocket message larger than 64 MiB');
    this.parts.push(bytes);
  }

  private endFrame(): void {
    this.inPayload = false;
    if (this.opcode >= Opcode.CLOSE) {
      const payload = Buffer.concat(this.control);
      this.control = [];
      this.sink.onControl(this.opcode, payload);
      return;
    }
    if (!this.fin) return;
    this.message = 0;
    if (this.compressed) {
      const parts = this.parts;
      this.parts = [];
      this.compressed = false;
      const bytes = this.inflate!(parts);
      if (bytes.length > 0) this.sink.onData(bytes);
    }
  }
}
