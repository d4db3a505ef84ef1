// Reconnect attempts to a TLS server are spaced by reconnectJitterTls, to a plain one by
// reconnectJitter. Real servers are killed and the gaps between `reconnecting` events measured.
// Only bounds that load cannot break are asserted: a slow machine widens gaps, so "fast" cases
// get a deadline far below what the wrong jitter would take, and the "slow" case a lower bound
// the other jitter (0) could never reach by itself.
import type { ConnectOptions } from '../../lib/core/index.js';
import { startServer, stopAllServers, tlsFixtures } from '../support/index.js';
import { Conns, waitUntil, watch } from './resilience-helpers.js';

afterAll(stopAllServers);

const conns = new Conns();
afterEach(() => conns.closeAll());

// Uniform jitter in [0, HUGE) would make the expected gap 5 minutes; a few attempts within
// FAST_DEADLINE happen by chance with odds of about (10 s / 10 min) per gap.
const HUGE_JITTER = 600_000;
const FAST_DEADLINE = 10_000;

/**
 * Connects with `opts`, kills the server and resolves the gaps (ms) between the first
 * `attempts` reconnect attempts, failing after `deadline` ms.
 */
async function reconnectGaps(
  tls: boolean,
  opts: ConnectOptions,
  attempts: number,
  deadline: number,
): Promise<number[]> {
  const server = await startServer(tls ? { tls: {} } : {});
  const f = tls ? await tlsFixtures() : undefined;
  const nc = await conns.connect({
    servers: f ? `tls://localhost:${server.port}` : server.url,
    ...(f ? { tls: { caFile: f.caFile } } : {}),
    maxReconnectAttempts: -1,
    ...opts,
  });
  expect(nc.info.tls_required ?? false).toBe(tls);
  const w = watch(nc);
  await server.kill();
  await waitUntil(
    () => w.count('reconnecting') >= attempts,
    `${attempts} reconnect attempts`,
    deadline,
  );
  const at = w.seen.filter((s) => s.status.type === 'reconnecting').map((s) => s.at);
  return at.slice(1, attempts).map((t, i) => t - at[i]);
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('reconnect jitter over TLS', () => {
  it('waits reconnectTimeWait plus up to reconnectJitterTls between attempts to a TLS server', async () => {
    // 6 gaps of 10 ms + U(0, 1000): the sum is above 500 ms unless all six draws are tiny
    // (odds about 1 in 100,000); with reconnectJitter (0) it would be about 60 ms.
    const gaps = await reconnectGaps(
      true,
      { reconnectTimeWait: 10, reconnectJitter: 0, reconnectJitterTls: 1000 },
      7,
      20_000,
    );
    expect(sum(gaps)).toBeGreaterThan(500);
  });

  it('ignores reconnectJitter between attempts to a TLS server', async () => {
    const gaps = await reconnectGaps(
      true,
      { reconnectTimeWait: 20, reconnectJitter: HUGE_JITTER, reconnectJitterTls: 0 },
      5,
      FAST_DEADLINE,
    );
    expect(gaps).toHaveLength(4);
  });

  it('ignores reconnectJitterTls between attempts to a plain server', async () => {
    const gaps = await reconnectGaps(
      false,
      { reconnectTimeWait: 20, reconnectJitter: 0, reconnectJitterTls: HUGE_JITTER },
      5,
      FAST_DEADLINE,
    );
    expect(gaps).toHaveLength(4);
  });
});
