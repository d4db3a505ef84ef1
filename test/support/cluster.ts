// A full-mesh cluster of real servers on loopback, optionally with clustered JetStream.
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type NatsServerHandle, type StartServerOptions } from './nats-server.js';
import { getFreePort } from './ports.js';

/** A running cluster started by `startCluster`. */
export interface NatsCluster {
  servers: NatsServerHandle[];
  /** Client URLs, in server order. */
  urls: string[];
  /** WebSocket URLs (`ws://` or `wss://`), in server order, when started with `websocket`. */
  wsUrls: string[];
  /** Waits until every running member sees all others (and, with JetStream, a meta leader). */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function fetchJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not up yet
  }
}

/** Whether one member sees `peers` routes and, with JetStream, knows the meta leader. */
async function memberReady(server: NatsServerHandle, peers: number, js: boolean): Promise<boolean> {
  const routez = await fetchJson(`${server.monitorUrl}/routez`);
  if (!routez || Number(routez['num_routes']) < peers) return false;
  if (!js) return true;
  const jsz = await fetchJson(`${server.monitorUrl}/jsz`);
  const meta = jsz?.['meta_cluster'] as { leader?: string } | undefined;
  return typeof meta?.leader === 'string' && meta.leader !== '';
}

/**
 * Whether the JetStream meta leader sees every other member as a current, online peer: until
 * then a replicated stream can be refused with "no suitable peers for placement, peer offline"
 * (seen on a loaded CI machine right after the leader was known).
 */
async function metaPeersCurrent(servers: NatsServerHandle[]): Promise<boolean> {
  for (const s of servers) {
    const jsz = await fetchJson(`${s.monitorUrl}/jsz`);
    const meta = jsz?.['meta_cluster'] as
      { leader?: string; replicas?: { current?: boolean; offline?: boolean }[] } | undefined;
    const replicas = meta?.replicas;
    if (replicas === undefined || replicas.length < servers.length - 1) continue;
    return replicas.every((r) => r.current === true && r.offline !== true);
  }
  return false;
}

/** Polls the monitoring endpoints of `servers` until the cluster has formed. */
export async function waitForCluster(
  servers: NatsServerHandle[],
  opts: { jetstream?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const running = servers.filter((s) => s.running);
  for (;;) {
    const ready = await Promise.all(
      running.map((s) => memberReady(s, running.length - 1, opts.jetstream === true)),
    );
    if (ready.every(Boolean) && (opts.jetstream !== true || (await metaPeersCurrent(running))))
      return;
    if (Date.now() > deadline) {
      const tails = running.map((s, i) => `--- server ${i} (${s.url}) ---\n${tailOf(s)}`);
      throw new Error(`cluster did not form in time\n${tails.join('\n')}`);
    }
    await sleep(50);
  }
}

const tailOf = (s: NatsServerHandle): string => s.logs().split('\n').slice(-15).join('\n');

/**
 * Options of `startCluster`: those of every member (with `websocket`, each member also gets its
 * own WebSocket listener, see `wsUrls`), plus per-member extras.
 */
export interface StartClusterOptions extends StartServerOptions {
  /** Extra configuration text of member `index` (0-based), e.g. its `server_tags`. */
  memberConfig?: (index: number) => string;
}

/**
 * Starts `n` servers routed to each other (`cluster { name, listen, routes }`) with the
 * monitoring port on, and waits until all routes are up. With `jetstream: true` every member
 * gets its own store dir and `server_name`, and the wait includes a JetStream meta leader.
 */
export async function startCluster(n = 3, opts: StartClusterOptions = {}): Promise<NatsCluster> {
  const { memberConfig, ...serverOpts } = opts;
  const clusterPorts = await Promise.all(Array.from({ length: n }, () => getFreePort()));
  const started = await Promise.allSettled(
    clusterPorts.map((port, i) => {
      const routes = clusterPorts
        .filter((p) => p !== port)
        .map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`));
      const cluster = [
        'cluster {',
        '  name: "test-cluster"',
        `  listen: "127.0.0.1:${port}"`,
        `  routes: [${routes.join(', ')}]`,
        '}',
      ].join('\n');
      const config = [cluster, opts.config ?? '', memberConfig?.(i) ?? ''].join('\n');
      const serverName = `${opts.serverName ?? 's'}${i + 1}`;
      return startServer({ ...serverOpts, port: undefined, serverName, config, monitor: true });
    }),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const waitReady = (timeoutMs?: number): Promise<void> =>
    waitForCluster(servers, { jetstream: opts.jetstream === true, timeoutMs });
  try {
    await waitReady();
  } catch (err) {
    await stop();
    throw err;
  }
  const wsUrls = servers.flatMap((s) => (s.wsUrl ? [s.wsUrl] : []));
  return { servers, urls: servers.map((s) => s.url), wsUrls, waitReady, stop };
}
