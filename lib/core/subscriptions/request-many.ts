import { checkDelay } from '../delays.js';
import { NoRespondersError, TimeoutError } from '../errors.js';
import type { HeadersInit } from '../messages/headers.js';
import type { Msg } from '../messages/msg.js';
import { replyError } from './mux-inbox.js';
import type { Subscription, SubscriptionOptions } from './subscription.js';

/** Options of `nc.requestMany()`; durations in milliseconds. */
export interface RequestManyOptions {
  /** Stop after this many replies. */
  maxMessages?: number;
  /** Stop after this long in total. @default 1000 */
  maxWait?: number;
  /** Stop when no reply arrived for this long after the previous one. */
  stallTimeout?: number;
  /** Headers to send with the request. */
  headers?: HeadersInit;
}

/** What `collectReplies` needs from the connection. */
export interface RequestManyHost {
  newInbox(): string;
  subscribe(subject: string, opts?: SubscriptionOptions): Subscription;
  publish(
    subject: string,
    data?: Uint8Array | string | null,
    opts?: { reply?: string; headers?: HeadersInit },
  ): unknown;
}

/**
 * Publishes a request with a fresh inbox as its reply subject and yields every reply until
 * `maxMessages`, `maxWait` or `stallTimeout` ends it. Throws `NoRespondersError` when nobody
 * listens. The inbox is unsubscribed however the iteration ends.
 */
export async function* collectReplies(
  nc: RequestManyHost,
  subject: string,
  data: Uint8Array | string | null | undefined,
  opts: RequestManyOptions,
): AsyncGenerator<Msg> {
  checkDelay(opts.maxWait ?? 1000, 'requestMany maxWait', 1);
  if (opts.stallTimeout !== undefined) checkDelay(opts.stallTimeout, 'requestMany stallTimeout', 1);
  const inbox = nc.newInbox();
  const sub = nc.subscribe(inbox, opts.maxMessages ? { max: opts.maxMessages } : {});
  const deadline = Date.now() + (opts.maxWait ?? 1000);
  let count = 0;
  try {
    nc.publish(subject, data, { reply: inbox, headers: opts.headers });
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      const wait = count > 0 && opts.stallTimeout ? Math.min(left, opts.stallTimeout) : left;
      let msg: Msg;
      try {
        msg = await sub.nextMsg(wait);
      } catch (err) {
        if (err instanceof TimeoutError) return;
        throw err;
      }
      if (replyError(msg, subject) instanceof NoRespondersError)
        throw new NoRespondersError(subject);
      count++;
      yield msg;
      if (opts.maxMessages && count >= opts.maxMessages) return;
    }
  } finally {
    sub.unsubscribe();
  }
}
