// Small helpers shared by the core-client integration specs (not a spec file itself).
import {
  connect,
  type ConnectOptions,
  type Msg,
  type NatsConnection,
} from '../../lib/core/index.js';

/**
 * Opens connections for a test and closes every one of them in `closeAll()` (call it from
 * `afterEach`), so no socket keeps jest alive after a failing test.
 */
export class Connections {
  private readonly open = new Set<NatsConnection>();

  async connect(opts: ConnectOptions): Promise<NatsConnection> {
    const nc = await connect(opts);
    this.open.add(nc);
    return nc;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open];
    this.open.clear();
    await Promise.all(all.map((nc) => nc.close().catch(() => undefined)));
  }
}

/** Polls `check` every 5 ms until it is true, failing after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads exactly `n` messages with `nextMsg()`. */
export async function take(
  sub: { nextMsg(timeout?: number): Promise<Msg> },
  n: number,
  timeout = 2000,
): Promise<Msg[]> {
  const out: Msg[] = [];
  for (let i = 0; i < n; i++) out.push(await sub.nextMsg(timeout));
  return out;
}

/** Runs `fn` and returns what it threw synchronously (fails the test when it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw synchronously');
}

/** The rejection reason of `p` (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

/** Milliseconds `fn` takes, with its outcome. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** The subscriptions the server holds for a client id, from the monitoring endpoint. */
export async function serverSubscriptions(monitorUrl: string, cid: number): Promise<string[]> {
  const res = await fetch(`${monitorUrl}/connz?subs=1&cid=${cid}`);
  const body = (await res.json()) as {
    connections: Array<{ cid: number; name?: string; subscriptions_list?: string[] }>;
  };
  return body.connections.find((c) => c.cid === cid)?.subscriptions_list ?? [];
}

/** The connection entry the server's monitoring endpoint shows for a client id. */
export async function serverConnection(
  monitorUrl: string,
  cid: number,
): Promise<{ cid: number; name?: string; lang?: string; version?: string } | undefined> {
  const res = await fetch(`${monitorUrl}/connz?cid=${cid}`);
  const body = (await res.json()) as {
    connections: Array<{ cid: number; name?: string; lang?: string; version?: string }>;
  };
  return body.connections.find((c) => c.cid === cid);
}
