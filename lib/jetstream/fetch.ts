import { checkDelay, InvalidOptionError, type NatsConnection } from '../core/internal.js';
import { JsMsg, isJsMsg } from './jsmsg.js';
import { priorityMembers, type Pin, type PullPriorityOptions } from './priority.js';
import { pullRequest, pullStatus, statusError } from './pull-status.js';

/** Options of `fetch()`: with `group` and the other priority-group options on such consumers. */
export interface FetchOptions extends PullPriorityOptions {
  /** How long the server keeps the pull open, in milliseconds. @default 5000 */
  timeout?: number;
  /** Byte budget of the pull: the server stops before a message that would exceed it. */
  maxBytes?: number;
  /** Ask for idle heartbeats this often (ms) and give up after two are missed. */
  heartbeat?: number;
}

// Extra client-side wait after `expires`, in case the server's 408 is lost.
const CLIENT_GRACE_MS = 1000;

/**
 * Sends one pull request to `subject` on its own inbox and collects what arrives until the batch
 * is filled, the request expires (408), nothing is available, the server ends it (409 Leadership
 * Change of a clustered consumer), or the heartbeat goes quiet. Resolves what arrived, possibly an
 * empty array; rejects only on a terminal status or a refused pull (409 Exceeded MaxWaiting,
 * MaxRequestBatch…) that came with no messages.
 * A pull the server never answered at all (not even its 408; nats-server 2.9) or answered with
 * 503 no responders (2.10+) is what a missing consumer gets: then `probe` asks whether the
 * consumer exists, and the `ConsumerNotFoundError` (or `StreamNotFoundError`) it resolves is
 * the rejection. With `pin` (a `pinned_client` consumer) the pull carries the pin id held, takes
 * the one delivered messages carry, and a 423 (another client is pinned) drops it and ends the
 * pull with what arrived, so the next one pulls as a standby.
 */
export function fetchBatch(
  nc: NatsConnection,
  subject: string,
  batch: number,
  opts: FetchOptions = {},
  probe?: () => Promise<Error | undefined>,
  pin?: Pin,
): Promise<JsMsg[]> {
  const expires = opts.timeout ?? 5000;
  const hb = opts.heartbeat;
  if (!Number.isInteger(batch) || batch < 1)
    return Promise.reject(new InvalidOptionError('batch must be a positive integer'));
  try {
    checkDelay(expires, 'fetch timeout', 1);
    if (hb !== undefined) checkDelay(hb, 'fetch heartbeat', 1);
  } catch (err) {
    return Promise.reject(err);
  }
  if (hb !== undefined && hb * 2 > expires)
    return Promise.reject(new InvalidOptionError('heartbeat must be at most half the timeout'));
  const inbox = nc.newInbox();
  const out: JsMsg[] = [];
  return new Promise<JsMsg[]>((resolve, reject) => {
    let done = false;
    let answered = false;
    let last = Date.now();
    let hbTimer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(hbTimer);
      sub.unsubscribe();
      if (err && out.length === 0) reject(err);
      else resolve(out);
    };
    const sub = nc.subscribe(inbox, {
      callback: (msg) => {
        answered = true;
        last = Date.now();
        if (isJsMsg(msg)) {
          pin?.observe(msg);
          out.push(new JsMsg(msg, nc));
          if (out.length >= batch) finish();
          return;
        }
        const status = pullStatus(msg);
        if (status === undefined || status.code === 100) return;
        if (status.pinMismatch) pin?.drop();
        if (status.code === 503 && probe !== undefined && out.length === 0) {
          // 2.10+ answers a pull for a missing consumer with 503 no responders (2.9 stays
          // silent); an election does too, so ask which it is.
          clearTimeout(timer);
          clearInterval(hbTimer);
          void probe().then((gone) => finish(gone ?? statusError(status)));
          return;
        }
        // A refused pull (over a consumer limit) is an error, not an empty result.
        finish(status.terminal || status.warning ? statusError(status) : undefined);
      },
    });
    void sub.closed.then(() => finish()); // `closed` only resolves
    const silent = (): void => {
      if (answered || probe === undefined) return finish();
      clearTimeout(timer);
      clearInterval(hbTimer);
      void probe().then(finish);
    };
    const timer = setTimeout(silent, expires + CLIENT_GRACE_MS);
    if (hb !== undefined) {
      hbTimer = setInterval(() => {
        if (Date.now() - last > 2 * hb) silent();
      }, hb);
    }
    try {
      const req = pullRequest(batch, expires, opts.maxBytes, hb, priorityMembers(opts, pin?.id));
      nc.publish(subject, JSON.stringify(req), { reply: inbox });
    } catch (err) {
      finish(err as Error);
    }
  });
}
