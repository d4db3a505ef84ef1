// One (case, client) measurement in a process of its own:
//   node .bench-tmp/run-<pid>/bench/worker.js <module> <case> <ours|natsjs> <url>
// Prints the figures, peak RSS and CPU time as one `RESULT_MARKER` line on stdout.
import { loadGroup } from './groups.js';
import { sampleRss, sampledPeakRss } from './measure.js';
import { CLIENTS, RESULT_MARKER, type ClientKind, type WorkerResult } from './types.js';

async function main(): Promise<void> {
  const [groupName, caseId, client, url] = process.argv.slice(2);
  if (!url || !CLIENTS.includes(client as ClientKind)) {
    throw new Error('usage: worker.js <group> <case> <ours|natsjs> <url>');
  }
  const group = await loadGroup(new URL('./cases/', import.meta.url), groupName);
  const benchCase = group.cases.find((c) => c.id === caseId);
  if (!benchCase) throw new Error(`no case ${caseId} in group ${groupName}`);
  if (process.env.BENCH_OTEL === 'sdk') {
    const { registerBenchTelemetry } = await import('./otel.js');
    registerBenchTelemetry();
  }
  sampleRss();
  const cpu = process.cpuUsage();
  const figures = await benchCase.run(client as ClientKind, url);
  const { user, system } = process.cpuUsage(cpu);
  sampleRss();
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const sampledRss = sampledPeakRss();
  const result: WorkerResult = {
    figures,
    peakRss: Math.max(maxRss, sampledRss),
    sampledRss,
    maxRss,
    cpuMs: (user + system) / 1000,
  };
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
