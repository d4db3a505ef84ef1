// The `reconnectToServer` option (ADR-40, "Reconnect to specific server"): the user picks the
// server of each reconnect attempt, from the pool only, and the wait before it. What the
// callback returns is checked; a bad answer is reported and the default choice is used.
import { checkDelay } from './delays.js';
import { InvalidOptionError } from './errors.js';
import { displayUrl, type ServerEntry } from './servers.js';
import { describeThrown } from './auth/suppliers.js';

/** One server of the pool, as `reconnectToServer` sees it. */
export interface PoolServer {
  /** The server's URL without credentials (`nats://10.0.0.2:4222`): return it to pick it. */
  readonly url: string;
  /** Failed connect attempts since the last successful connect. */
  readonly reconnects: number;
  /** True once the client has been connected to it. */
  readonly didConnect: boolean;
  /** True when learned from the cluster (INFO `connect_urls`) rather than configured. */
  readonly discovered: boolean;
  /** When it was last tried, in milliseconds since the epoch; 0 when never. */
  readonly lastAttempt: number;
}

/** What `reconnectToServer` returns: the `url` of a pool server, and the wait before trying it. */
export interface ReconnectChoice {
  /** The `url` of one of the servers it was given. */
  server: string;
  /** Milliseconds to wait before the attempt; 0 tries at once. */
  delay?: number;
}

/** Picks the server of the next reconnect attempt; undefined keeps the default choice. */
export type ReconnectToServer = (
  servers: PoolServer[],
  lastError: Error | undefined,
) => ReconnectChoice | undefined;

/** Refuses a `reconnectToServer` that is not a function (at `connect()`). */
export function checkReconnectToServer(value: unknown): void {
  if (value !== undefined && typeof value !== 'function')
    throw new InvalidOptionError('option reconnectToServer must be a function');
}

/** The server and wait the user chose, or the reason their answer cannot be used. */
export type ChoiceOutcome =
  { server: ServerEntry; delay: number | undefined } | { error: InvalidOptionError } | undefined;

/**
 * Calls `pick` with a view of `pool` and checks the answer: the server must be one of the pool
 * (by its display URL, or its `host:port`), the delay a valid timer delay. Never throws.
 */
export function askReconnectToServer(
  pick: ReconnectToServer,
  pool: readonly ServerEntry[],
  lastError: Error | undefined,
): ChoiceOutcome {
  const views: PoolServer[] = pool.map((s) => ({
    url: displayUrl(s),
    reconnects: s.reconnects,
    didConnect: s.didConnect,
    discovered: s.implicit,
    lastAttempt: s.lastAttempt,
  }));
  let answer: unknown;
  try {
    answer = pick(views, lastError);
  } catch (err) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : describeThrown(err);
    return { error: new InvalidOptionError(`option reconnectToServer threw ${what}`) };
  }
  if (answer === undefined || answer === null) return undefined;
  const invalid = (why: string): ChoiceOutcome => ({
    error: new InvalidOptionError(`option reconnectToServer returned ${why}`),
  });
  if (typeof answer !== 'object' || typeof (answer as { then?: unknown }).then === 'function')
    return invalid('something other than { server, delay? } (it must not be async)');
  const { server, delay } = answer as { server?: unknown; delay?: unknown };
  if (typeof server !== 'string') return invalid('no server URL');
  const wanted = server.trim().replace(/\/$/, '');
  const index = pool.findIndex((s, i) => views[i].url === wanted || s.hostport === wanted);
  if (index < 0) return invalid(`${JSON.stringify(server)}, which is not in the server pool`);
  if (delay !== undefined) {
    try {
      checkDelay(delay, 'reconnectToServer delay');
    } catch (err) {
      return { error: err as InvalidOptionError };
    }
  }
  return { server: pool[index], delay: delay as number | undefined };
}
