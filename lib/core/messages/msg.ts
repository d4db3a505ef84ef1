import { NoReplySubjectError } from '../errors.js';
import type { CopyArena } from './copy-arena.js';
import { MsgHeaders, type HeadersInit } from './headers.js';

/** What a message needs from its connection to answer. */
export interface Responder {
  respondTo(
    replySubject: string,
    data: Uint8Array | string | undefined,
    headers: HeadersInit | undefined,
  ): Promise<void> | undefined;
}

const decoder = new TextDecoder();

/** A message received on a subscription. Headers are decoded on first access. */
export class Msg {
  private decoded: MsgHeaders | undefined;

  /** @internal Built by the connection for each message it receives. */
  constructor(
    /** The subject it was published to. */
    readonly subject: string,
    /** The subscription id it arrived on. */
    readonly sid: number,
    /** The reply subject, or '' when none. */
    readonly reply: string,
    /** The payload. */
    readonly data: Uint8Array,
    private rawHeaders: Uint8Array | null,
    private readonly responder: Responder,
  ) {}

  /** The headers, or undefined when the message has none. */
  get headers(): MsgHeaders | undefined {
    if (this.decoded === undefined && this.rawHeaders !== null)
      this.decoded = MsgHeaders.decode(this.rawHeaders);
    return this.decoded;
  }

  /** Alias of `headers`. */
  get header(): MsgHeaders | undefined {
    return this.headers;
  }

  /** True when the message carries headers. Cheaper than decoding them. */
  get hasHeaders(): boolean {
    return this.rawHeaders !== null;
  }

  /** @internal Bytes of the header block as it came off the wire (0 without headers). */
  get headerBytes(): number {
    return this.rawHeaders?.byteLength ?? 0;
  }

  /**
   * @internal Copies the payload (and raw headers) out of the socket chunk they are views of,
   * when the chunk is much larger: a queued message must not pin a whole read buffer, or the
   * pending-bytes limit would understate memory by the chunk/message size ratio. The copy comes
   * from the queue's `arena` (see `CopyArena` for why not Node's shared Buffer pool), or gets
   * memory of its own, exactly its size.
   */
  detach(arena?: CopyArena): void {
    const headers = this.rawHeaders;
    const headerLen = headers?.byteLength ?? 0;
    const size = this.data.byteLength + headerLen;
    if (this.data.buffer.byteLength <= 4 * size + 1024) return;
    const copy = arena ? arena.alloc(size) : Buffer.allocUnsafeSlow(size);
    if (headers !== null) copy.set(headers, 0);
    copy.set(this.data, headerLen);
    (this as { data: Uint8Array }).data = copy.subarray(headerLen);
    if (headers !== null) this.rawHeaders = copy.subarray(0, headerLen);
  }

  /** Publishes `data` to the reply subject. Throws `NoReplySubjectError` when there is none. */
  respond(data?: Uint8Array | string, opts?: { headers?: HeadersInit }): Promise<void> | undefined {
    if (!this.reply) throw new NoReplySubjectError();
    return this.responder.respondTo(this.reply, data, opts?.headers);
  }

  /** The payload decoded as UTF-8. */
  string(): string {
    return decoder.decode(this.data);
  }

  /** The payload parsed as JSON. Throws `SyntaxError` when it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.string()) as T;
  }
}
