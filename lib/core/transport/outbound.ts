import { ReconnectBufferFullError } from '../errors.js';

/** Where flushed chunks go: the socket. */
export interface ChunkWriter {
  /** `done` runs once the kernel took the whole chunk (with an error if the socket died). */
  write(chunk: Buffer, done?: (err?: Error | null) => void): unknown;
  /** Bytes the socket holds that the kernel has not taken yet. */
  readonly writableLength: number;
  /** Set once the socket is destroyed (an error, or we dropped it), before it emits 'close'. */
  readonly destroyed?: boolean;
}

const CHUNK_SIZE = 64 * 1024;
// Chunks waiting for a backed-up socket are joined into writes of about this size.
const JOIN_SIZE = 256 * 1024;
// Flush right away once this much is buffered, so a publisher that never yields to the event
// loop (awaiting `undefined` only runs microtasks) still gets its bytes onto the wire.
const FLUSH_THRESHOLD = 32 * 1024;

/**
 * The outbound byte buffer. Operations are encoded straight into a large buffer and written to
 * the socket in batches, so many publishes cost one syscall:
 * - on a busy connection (it wrote in the previous event-loop turn) once per turn;
 * - on a quiet one as soon as the current task and its promise chains are done (a
 *   `process.nextTick`), so a lone request or reply does not wait for the rest of the turn;
 * - at once when `FLUSH_THRESHOLD` bytes are pending.
 * The socket is only given more once the kernel took everything before (its `writableLength`
 * is 0), and nothing once it is destroyed: while it is backed up, chunks wait here. So when a
 * connection dies, what it loses is what the kernel had taken plus at most the one chunk the
 * kernel was taking; everything after that is still here and goes out after the next
 * handshake, in order, like the bytes encoded while disconnected (bounded by the reconnect
 * buffer size). Above the high-water mark `pressure()` hands publishers a promise
 * that resolves once the backlog drains.
 */
export class Outbound {
  /** The buffer being filled; `start..len` is not yet written. Encoders write at `len`. */
  buf: Buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  len = 0;
  private start = 0;
  // Chunks waiting for a socket: while disconnected, or while the socket is backed up.
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  // For each queued chunk, 1 when it ends with a PING (ping() cuts right after it), else 0.
  private queuedPingFlags: number[] = [];
  private writer: ChunkWriter | null = null;
  // The socket holds bytes the kernel has not taken: hand it nothing more until it has.
  private backedUp = false;
  // A flush is pending (end of task or end of turn): frames encoded now are written by it.
  private scheduled = false;
  // Something was written in this or the previous turn: batch per turn.
  private busy = false;
  private waiting: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private readonly endOfTask = (): void => {
    if (this.writer !== null) this.cut();
    // Whatever the rest of this turn encodes goes out at its end.
    setImmediate(this.endOfTurn);
  };
  private readonly endOfTurn = (): void => {
    this.scheduled = false;
    if (this.writer !== null && this.len > this.start) {
      this.cut();
      this.busy = true;
      // Check again at the end of the next turn: it decides whether the connection went quiet.
      this.scheduled = true;
      setImmediate(this.endOfTurn);
    } else {
      this.busy = false;
    }
  };

  // A chunk reached the kernel; once the socket holds nothing more, hand it the next ones.
  private readonly onWritten = (err?: Error | null): void => {
    if (err || !this.backedUp || this.writer === null || this.writer.writableLength > 0) return;
    this.backedUp = false;
    this.pump();
  };

  constructor(
    private readonly highWaterMark: number,
    private readonly reconnectBufferSize: number,
  ) {}

  /** Bytes encoded but not yet handed to a socket. */
  get pendingBytes(): number {
    return this.queuedBytes + this.len - this.start;
  }

  get connected(): boolean {
    return this.writer !== null;
  }

  /**
   * While disconnected, refuses with `ReconnectBufferFullError` a frame of `bytes` that would
   * overflow the reconnect buffer. Encoders call it only when `connected` is false, so the hot
   * path never computes exact sizes.
   */
  admit(bytes: number): void {
    if (this.writer === null && this.pendingBytes + bytes > this.reconnectBufferSize) {
      throw new ReconnectBufferFullError(this.reconnectBufferSize);
    }
  }

  /** Makes room for at least `n` more bytes at `len`. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    this.cut();
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, n));
    this.len = 0;
    this.start = 0;
  }

  /** Call after encoding: schedules the write (see the class comment). */
  written(): void {
    if (this.len - this.start >= FLUSH_THRESHOLD) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      if (this.busy) {
        setImmediate(this.endOfTurn);
      } else {
        this.busy = true;
        process.nextTick(this.endOfTask);
      }
    }
  }

  /**
   * Sends what is encoded now, in turn behind anything waiting for a backed-up socket (so a
   * PING follows the publishes before it). No-op while disconnected. `endsWithPing` marks the
   * bytes as ending with a PING, so `queuedPings` can count those still waiting.
   */
  flush(endsWithPing = false): void {
    if (this.writer === null) return;
    this.cut(endsWithPing);
  }

  /**
   * PINGs not yet given to a socket: after a reconnect they are sent again ahead of new ones,
   * and their PONGs must not be taken for the answers to those.
   */
  get queuedPings(): number {
    let n = 0;
    for (const flag of this.queuedPingFlags) n += flag;
    return n;
  }

  /** Hands everything buffered to the socket at once, backed up or not: before it is ended. */
  flushAll(): void {
    const writer = this.live();
    if (writer === null) return;
    this.cut();
    while (this.queued.length > 0) this.hand(writer, this.join());
  }

  /** A promise to await while the socket is backed up beyond the high-water mark, else undefined. */
  pressure(): Promise<void> | undefined {
    return this.waiting;
  }

  /** Connects a socket: everything buffered while disconnected is written first, in order. */
  attach(writer: ChunkWriter): void {
    this.writer = writer;
    this.backedUp = false;
    this.pump();
    this.cut();
  }

  /** Disconnects the socket; bytes it was not given are kept for the next `attach()`. */
  detach(): void {
    this.writer = null;
    this.backedUp = false;
    this.relieve();
  }

  /** Drops everything buffered (on close). */
  clear(): void {
    this.queued = [];
    this.queuedPingFlags = [];
    this.queuedBytes = 0;
    this.len = this.start = 0;
    this.backedUp = false;
    this.relieve();
  }

  /** The socket emitted 'drain'. */
  drained(): void {
    this.onWritten();
    if (this.backlog() <= this.highWaterMark) this.relieve();
  }

  /**
   * The socket, unless it is destroyed: a destroyed one would drop what it is given until its
   * 'close' detaches it.
   */
  private live(): ChunkWriter | null {
    const writer = this.writer;
    return writer !== null && writer.destroyed !== true ? writer : null;
  }

  /** Bytes waiting for the kernel, here and in the socket. */
  private backlog(): number {
    return this.queuedBytes + (this.writer?.writableLength ?? 0);
  }

  /** Hands queued chunks to the socket until it backs up. */
  private pump(): void {
    const writer = this.live();
    if (writer === null) return;
    while (this.queued.length > 0 && !this.backedUp) this.hand(writer, this.join());
    if (this.waiting !== undefined && this.backlog() <= this.highWaterMark) this.relieve();
  }

  /** Takes queued chunks off the front, joined into one of up to about JOIN_SIZE bytes. */
  private join(): Buffer {
    let n = 1;
    let bytes = this.queued[0].length;
    while (n < this.queued.length && bytes + this.queued[n].length <= JOIN_SIZE) {
      bytes += this.queued[n].length;
      n++;
    }
    const parts = this.queued.splice(0, n);
    this.queuedPingFlags.splice(0, n);
    this.queuedBytes -= bytes;
    return n === 1 ? parts[0] : Buffer.concat(parts, bytes);
  }

  private hand(writer: ChunkWriter, chunk: Buffer): void {
    writer.write(chunk, this.onWritten);
    if (writer.writableLength > 0) this.backedUp = true;
  }

  private relieve(): void {
    const release = this.release;
    this.waiting = undefined;
    this.release = undefined;
    release?.();
  }

  /** Hands `start..len` to the socket, or to the queue while disconnected or backed up. */
  private cut(endsWithPing = false): void {
    if (this.len === this.start) return;
    // The socket keeps a view of these bytes until written, so later encodes continue after them.
    const chunk = this.buf.subarray(this.start, this.len);
    this.start = this.len;
    const writer = this.live();
    if (writer === null || this.backedUp) {
      this.queued.push(chunk);
      this.queuedPingFlags.push(endsWithPing ? 1 : 0);
      this.queuedBytes += chunk.length;
    } else {
      this.hand(writer, chunk);
    }
    if (this.writer !== null && this.waiting === undefined && this.backlog() > this.highWaterMark) {
      this.waiting = new Promise((resolve) => (this.release = resolve));
    }
  }
}
