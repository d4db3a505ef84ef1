import { ReconnectBufferFullError } from '../errors.js';

/** Where flushed chunks go: the socket. */
export interface ChunkWriter {
  write(chunk: Buffer): void;
  /** Bytes the socket holds that the kernel has not taken yet. */
  readonly writableLength: number;
}

const CHUNK_SIZE = 64 * 1024;
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
 * While disconnected the bytes stay here, bounded by the reconnect buffer size, and go out
 * after the next handshake. Above the high-water mark `pressure()` hands publishers a promise
 * that resolves once the socket drains.
 */
export class Outbound {
  /** The buffer being filled; `start..len` is not yet written. Encoders write at `len`. */
  buf: Buffer = Buffer.allocUnsafe(CHUNK_SIZE);
  len = 0;
  private start = 0;
  // Full chunks waiting for a socket (only while disconnected).
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private writer: ChunkWriter | null = null;
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

  /** Writes whatever is buffered to the socket now (no-op while disconnected). */
  flush(): void {
    if (this.writer === null) return;
    this.cut();
  }

  /** A promise to await while the socket is backed up beyond the high-water mark, else undefined. */
  pressure(): Promise<void> | undefined {
    return this.waiting;
  }

  /** Connects a socket: everything buffered while disconnected is written first, in order. */
  attach(writer: ChunkWriter): void {
    this.writer = writer;
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const chunk of queued) writer.write(chunk);
    this.cut();
  }

  /** Disconnects the socket; later bytes are kept for the next `attach()`. */
  detach(): void {
    this.writer = null;
    this.relieve();
  }

  /** Drops everything buffered (on close). */
  clear(): void {
    this.queued = [];
    this.queuedBytes = 0;
    this.len = this.start = 0;
    this.relieve();
  }

  /** The socket emitted 'drain'. */
  drained(): void {
    if (this.writer && this.writer.writableLength <= this.highWaterMark) this.relieve();
  }

  private relieve(): void {
    const release = this.release;
    this.waiting = undefined;
    this.release = undefined;
    release?.();
  }

  /** Hands `start..len` to the socket, or to the queue while disconnected. */
  private cut(): void {
    if (this.len === this.start) return;
    // The socket keeps a view of these bytes until written, so later encodes continue after them.
    const chunk = this.buf.subarray(this.start, this.len);
    this.start = this.len;
    if (this.writer === null) {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
      return;
    }
    this.writer.write(chunk);
    if (this.waiting === undefined && this.writer.writableLength > this.highWaterMark) {
      this.waiting = new Promise((resolve) => (this.release = resolve));
    }
  }
}
