import type { Msg } from './msg.js';

/**
 * The fields a view shows of the `Msg` it wraps, each with the function that reads it there; a
 * view's field has the type that function returns. A view reads its message at every access, so
 * it sees a payload that `detach()` replaced and the headers the message decodes on first use;
 * it copies nothing. A function per field, not one getter reading `this.msg[name]`: that load
 * would be megamorphic, and `jsMsg.data` is read per message (about 5x slower measured).
 */
const readThrough = {
  /** The subject the message was published to. */
  subject: (msg: Msg) => msg.subject,
  /** The id of the subscription that received it. */
  sid: (msg: Msg) => msg.sid,
  /** The reply subject, or '' when the sender expects no answer. */
  reply: (msg: Msg) => msg.reply,
  /** The payload. */
  data: (msg: Msg) => msg.data,
  /** The message's headers, if it has any. */
  headers: (msg: Msg) => msg.headers,
  /** Alias of `headers`. */
  header: (msg: Msg) => msg.headers,
};

/** The fields of `readThrough` as a view has them: read-only, of the type each function returns. */
type ReadThrough<Readers extends Record<keyof Readers, (msg: Msg) => unknown>> = {
  readonly [K in keyof Readers]: ReturnType<Readers[K]>;
};

/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging --
 * The interface types the read-through fields, whose getters are installed from `readThrough`
 * below, where the compiler cannot see them.
 */
export interface MsgView extends ReadThrough<typeof readThrough> {}
/**
 * Read access to a received `Msg`, for the messages that wrap one (JetStream messages, service
 * requests) and add their own answering methods.
 */
export abstract class MsgView {
  constructor(
    /** The core message as received. */
    readonly msg: Msg,
  ) {}

  /** The payload decoded as UTF-8. */
  string(): string {
    return this.msg.string();
  }
  /** The payload parsed as JSON. Throws `SyntaxError` when it is not JSON. */
  json<T = unknown>(): T {
    return this.msg.json<T>();
  }
}
/* eslint-enable @typescript-eslint/no-unsafe-declaration-merging */

for (const [name, read] of Object.entries(readThrough)) {
  Object.defineProperty(MsgView.prototype, name, {
    get(this: MsgView) {
      return read(this.msg);
    },
    configurable: true,
  });
}
