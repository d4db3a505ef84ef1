import type { MsgHeaders } from './headers.js';
import type { Msg } from './msg.js';

/**
 * Read access to a received `Msg`, for the messages that wrap one (JetStream messages, service
 * requests) and add their own answering methods.
 */
export abstract class MsgView {
  constructor(
    /** The core message as received. */
    readonly msg: Msg,
  ) {}

  /** The subject the message was published to. */
  get subject(): string {
    return this.msg.subject;
  }
  /** The id of the subscription that received it. */
  get sid(): number {
    return this.msg.sid;
  }
  /** The reply subject, or '' when the sender expects no answer. */
  get reply(): string {
    return this.msg.reply;
  }
  /** The payload. */
  get data(): Uint8Array {
    return this.msg.data;
  }
  /** The message's headers, if it has any. */
  get headers(): MsgHeaders | undefined {
    return this.msg.headers;
  }
  /** Alias of `headers`. */
  get header(): MsgHeaders | undefined {
    return this.msg.headers;
  }

  /** The payload decoded as UTF-8. */
  string(): string {
    return this.msg.string();
  }
  /** The payload parsed as JSON. Throws `SyntaxError` when it is not JSON. */
  json<T = unknown>(): T {
    return this.msg.json<T>();
  }
}
