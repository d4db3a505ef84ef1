// Shared helpers of the resilience specs: reconnect-*, cluster-failover (not a spec file).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  type ConnectOptions,
  type NatsConnection,
  type Status,
} from '../../lib/core/index.js';

export const FAST: ConnectOptions = { reconnectTimeWait: 50, reconnectJitter: 10 };

export class Conns {
  private readonly open = new Set<NatsConnection>();
  async connect(opts: ConnectOptions): Promise<NatsConnection> {
    const nc = await connect({ ...FAST, ...opts });
    this.open.add(nc);
    return nc;
  }
  track(nc: NatsConnection): NatsConnection {
    this.open.add(nc);
    return nc;
  }
  async closeAll(): Promise<void> {
    const all = [...this.open];
    this.open.clear();
    await Promise.all(all.map((nc) => nc.close().catch(() => undefined)));
  }
}

export type Seen = { at: number; status: Status };

export function watch(nc: NatsConnection): {
  seen: Seen[];
  count(type: Status['type']): number;
  types(): string[];
} {
  const seen: Seen[] = [];
  void (async () => {
    for await (const status of nc.status()) seen.push({ at: performance.now(), status });
  })();
  return {
    seen,
    count: (type) => seen.filter((s) => s.status.type === type).length,
    types: () => seen.map((s) => s.status.type),
  };
}

export async function waitUntil(
  cond: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function waitUntilAsync(
  cond: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export const range = (n: number, from = 0): number[] =>
  Array.from({ length: n }, (_, i) => from + i);

/** settled state of a promise without awaiting it forever */
export function track<T>(p: Promise<T>): {
  settled: boolean;
  value?: T;
  error?: unknown;
  at?: number;
} {
  const s: { settled: boolean; value?: T; error?: unknown; at?: number } = { settled: false };
  p.then(
    (v) => {
      s.settled = true;
      s.value = v;
      s.at = performance.now();
    },
    (e: unknown) => {
      s.settled = true;
      s.error = e;
      s.at = performance.now();
    },
  );
  return s;
}

export async function subsOf(monitorUrl: string, cid: number | undefined): Promise<string[]> {
  const res = await fetch(`${monitorUrl}/connz?subs=1&cid=${cid}`);
  const body = (await res.json()) as {
    connections: Array<{ cid: number; subscriptions_list?: string[] }>;
  };
  return (body.connections.find((c) => c.cid === cid)?.subscriptions_list ?? []).slice().sort();
}

/** The value of `p`, or 'hang' if it does not settle within `ms` (timer cleared). */
export async function orHang<T>(p: Promise<T>, ms: number): Promise<T | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
