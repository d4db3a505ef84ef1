// `npm run bench`: our core client against nats.js on one fresh nats-server. Every
// (case, client) pair runs in a worker process of its own, compiled ahead of time, so figures
// and peak RSS are per client and free of the TypeScript loader this runner needs.
//
//   npm run bench -- [--write] [--repeat N] [--only id,id] [--profile]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compileSources, removeCompiled } from './compile.js';
import { groupNames, loadGroup } from './groups.js';
import { median, now } from './measure.js';
import { hotFunctions } from './profile.js';
import { markdownTable, missed, nestOverhead, textTable, type Row } from './report.js';
import { startServer, type BenchServer } from './server.js';
import { compareVersions } from '../lib/core/server-version.js';
import {
  CLIENTS,
  CLIENT_LABEL,
  RESULT_MARKER,
  type BenchCase,
  type ClientKind,
  type WorkerResult,
} from './types.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TMP = join(ROOT, '.bench-tmp');
// A directory per run, so runs started side by side do not delete each other's workers.
const OUT = join(TMP, `run-${process.pid}`);
const WORKER = join(OUT, 'bench', 'worker.js');
const CASES_DIR = pathToFileURL(join(OUT, 'bench', 'cases') + '/');
const OUR_LIB = pathToFileURL(join(OUT, 'lib') + '/').href;
const PROFILE_DIR = join(TMP, 'profiles');
const WORKER_TIMEOUT = 240_000;

interface Selected {
  /** File name (without `.js`) of the case module, which the worker imports. */
  module: string;
  benchCase: BenchCase;
  /** `group/case`, as shown in the log. */
  key: string;
}

function options() {
  const { values } = parseArgs({
    options: {
      write: { type: 'boolean', default: process.env.BENCH_WRITE === '1' },
      repeat: { type: 'string', default: process.env.BENCH_REPEAT ?? '3' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1)
    throw new Error('--repeat must be a positive integer');
  const only = values.only?.split(',').filter(Boolean);
  return { write: values.write, repeat, only, profile: values.profile };
}

async function selectCases(only: string[] | undefined): Promise<Selected[]> {
  const selected: Selected[] = [];
  for (const name of await groupNames(CASES_DIR)) {
    const group = await loadGroup(CASES_DIR, name);
    for (const benchCase of group.cases) {
      const key = `${group.name}/${benchCase.id}`;
      if (!only || only.some((o) => o === benchCase.id || o === group.name || o === key)) {
        selected.push({ module: name, benchCase, key });
      }
    }
  }
  if (selected.length === 0) throw new Error(`no benchmark case matches --only ${only?.join(',')}`);
  return selected;
}

/** The cases the server can run; the others are named with the release they need. */
function runnableOn(selected: Selected[], version: string): Selected[] {
  const runnable = selected.filter((s) => {
    const min = s.benchCase.minServer;
    if (min === undefined || compareVersions(version, min) >= 0) return true;
    console.log(`skipped ${s.key}: needs nats-server ${min}`);
    return false;
  });
  if (runnable.length === 0) throw new Error(`no selected case runs on nats-server ${version}`);
  return runnable;
}

/** Runs one worker (its stderr goes to ours); resolves its result, or rejects if it failed. */
function runWorker(
  sel: Selected,
  client: ClientKind,
  url: string,
  nodeFlags: string[] = [],
): Promise<WorkerResult> {
  const args = [...nodeFlags, WORKER, sel.module, sel.benchCase.id, client, url];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (out += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code === 0 && line) {
        resolvePromise(JSON.parse(line.slice(RESULT_MARKER.length)) as WorkerResult);
      } else {
        reject(new Error(`${sel.key} (${client}) failed: ${signal ?? `exit code ${code}`}`));
      }
    });
  });
}

const fmtRun = (sel: Selected, r: WorkerResult): string =>
  sel.benchCase.metrics
    .map((m) => {
      const v = r.figures[m.key];
      return m.unit === 'µs' ? `${m.key} ${v.toFixed(1)} µs` : `${Math.round(v)} ${m.unit}`;
    })
    .join(', ') +
  `, peak RSS ${(r.peakRss / 2 ** 20).toFixed(1)} MiB, CPU ${r.cpuMs.toFixed(0)} ms`;

/** Each (case, client)'s result per round; undefined where the worker failed. */
type Rounds = Map<string, (WorkerResult | undefined)[]>;

async function measure(selected: Selected[], url: string, repeat: number) {
  const rounds: Rounds = new Map();
  const log: string[] = [];
  let failures = 0;
  for (let round = 0; round < repeat; round++) {
    for (const sel of selected) {
      // Alternate who goes first so neither client always meets a warmer (or busier) machine.
      const order = round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
      for (const client of order) {
        const peer = client === 'natsjs' ? sel.benchCase.peer : undefined;
        const name = peer ?? CLIENT_LABEL[client];
        const label = `${sel.key} ${name} #${round + 1}`.padEnd(32);
        const key = `${sel.key}|${client}`;
        const list = rounds.get(key) ?? [];
        rounds.set(key, list);
        let line: string;
        try {
          const r = await runWorker(sel, client, url);
          list[round] = r;
          line = `${label} ${fmtRun(sel, r)}`;
        } catch (err) {
          failures++;
          line = `${label} ${(err as Error).message}`;
        }
        console.log(line);
        log.push(line);
      }
    }
  }
  return { rows: aggregate(selected, rounds), log, failures };
}

/**
 * Figures are medians over the rounds and peak RSS the largest. The ratio is the median of the
 * per-round ratios: both clients of a round run back to back, so drift in the machine's load
 * (other processes on a shared box) cancels out better than in a ratio of medians.
 */
function aggregate(selected: Selected[], rounds: Rounds): Row[] {
  const rows: Row[] = [];
  for (const sel of selected) {
    const ours = rounds.get(`${sel.key}|ours`) ?? [];
    const natsjs = rounds.get(`${sel.key}|natsjs`) ?? [];
    const done = (list: (WorkerResult | undefined)[]) =>
      list.filter((r): r is WorkerResult => r !== undefined);
    const figure = (list: (WorkerResult | undefined)[], key: string): number => {
      const ok = done(list);
      return ok.length ? median(ok.map((r) => r.figures[key])) : NaN;
    };
    const rss = (list: (WorkerResult | undefined)[]): number => {
      const ok = done(list);
      return ok.length ? Math.max(...ok.map((r) => r.peakRss)) : NaN;
    };
    for (const spec of sel.benchCase.metrics) {
      const ratios: number[] = [];
      ours.forEach((o, i) => {
        const n = natsjs[i];
        if (o && n) ratios.push(o.figures[spec.key] / n.figures[spec.key]);
      });
      rows.push({
        caseKey: sel.key,
        peer: sel.benchCase.peer,
        spec,
        value: { ours: figure(ours, spec.key), natsjs: figure(natsjs, spec.key) },
        ratio: ratios.length ? median(ratios) : NaN,
        rss: { ours: rss(ours), natsjs: rss(natsjs) },
      });
    }
  }
  return rows;
}

/** Runs our worker under `--cpu-prof` for each case and prints its hottest functions. */
async function profile(selected: Selected[], url: string): Promise<void> {
  await mkdir(PROFILE_DIR, { recursive: true });
  const ours = (u: string): boolean => u.startsWith(OUR_LIB);
  for (const sel of selected) {
    const name = `${sel.key.replace('/', '-')}.cpuprofile`;
    const r = await runWorker(sel, 'ours', url, [
      '--cpu-prof',
      // 100 µs rather than the default 1 ms: a publish case is over in a fraction of a second.
      '--cpu-prof-interval=100',
      `--cpu-prof-dir=${PROFILE_DIR}`,
      `--cpu-prof-name=${name}`,
    ]);
    const file = join(PROFILE_DIR, name);
    console.log(`\n${sel.key} (ours): ${fmtRun(sel, r)} — profile ${relative(ROOT, file)}`);
    const print = (title: string, list: Awaited<ReturnType<typeof hotFunctions>>) => {
      console.log(`  ${title}`);
      for (const f of list) {
        const pct = `${(f.share * 100).toFixed(1)}%`.padStart(6);
        console.log(`    ${pct} ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.location}`);
      }
    };
    print('top self time, whole process:', await hotFunctions(file, ROOT, 12));
    print('top self time in lib/:', await hotFunctions(file, ROOT, 12, ours));
  }
}

interface Machine {
  node: string;
  server: string;
  cpu: string;
  cores: number;
  /** The 1-minute load average before the run: other work on the box makes figures noisy. */
  load: number;
}

function machine(serverVersion: string, load: number): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const cores = cpuinfo.match(/^processor\s*:/gm)?.length ?? os.cpus().length;
  return { node: process.version, server: serverVersion, cpu: model.trim(), cores, load };
}

interface Report {
  rows: Row[];
  log: string[];
  selected: Selected[];
  machine: Machine;
  repeat: number;
}

async function writeResults({ rows, log, selected, machine: m, repeat }: Report): Promise<void> {
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const cases = selected.map((s) => `- \`${s.key}\`: ${s.benchCase.description}`).join('\n');
  const text = `# Benchmark results

Generated by \`npm run bench -- --write\`; see [README.md](../README.md) for the method.

- Date: ${date}
- Node: ${m.node}
- nats-server: ${m.server}
- CPU: ${m.cpu}, ${m.cores} cores
- Load average (1 min) before the run: ${m.load.toFixed(2)}
- Repeats: ${repeat} per (case, client), alternating which client goes first. Figures are
  medians; ours/nats.js is the median of the per-round ratios; peak RSS is the largest of the
  worker's sampled RSS and \`getrusage\` maxRSS over the repeats.

${markdownTable(rows)}
${nestOverhead(rows) ? `\n${nestOverhead(rows)}\n` : ''}${await analysis()}
Cases:

${cases}

Individual runs:

\`\`\`
${log.join('\n')}
\`\`\`
`;
  // One file per Node major and server release, so runs on several of them sit side by side.
  const major = m.node.replace(/^v/, '').split('.')[0];
  const file = join(
    'bench',
    'results',
    `node${major}-nats-server-${m.server.replace(/^v/, '')}.md`,
  );
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, file), text);
  console.log(`\nwrote ${file}`);
}

async function main(): Promise<void> {
  const opts = options();
  const load = os.loadavg()[0];
  const t0 = now();
  let server: BenchServer | undefined;
  const cleanUp = () => Promise.all([server?.stop(), removeCompiled(OUT)]);
  const interrupted = (): void => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  try {
    const files = await compileSources(ROOT, OUT);
    const where = relative(ROOT, OUT);
    console.log(`compiled ${files} files into ${where}/ in ${(now() - t0).toFixed(0)} ms`);
    server = await startServer();
    const m = machine(server.version, load);
    console.log(
      `nats-server ${m.server} at ${server.url}; node ${m.node}; ${m.cpu}, ${m.cores} cores`,
    );
    const selected = runnableOn(await selectCases(opts.only), server.version);
    if (m.load >= 0.5) {
      console.log(`note: load average ${m.load.toFixed(2)} before the run; expect noisy figures`);
    }
    console.log('');
    if (opts.profile) {
      await profile(selected, server.url);
      return;
    }
    const { rows, log, failures } = await measure(selected, server.url, opts.repeat);
    console.log(`\n${textTable(rows)}\n`);
    const overhead = nestOverhead(rows);
    if (overhead) console.log(`${overhead}\n`);
    const misses = missed(rows).map((r) => r.spec.label);
    if (overhead?.endsWith('MISSED)')) misses.push('Nest send() p50 overhead');
    console.log(misses.length ? `targets missed: ${misses.join(', ')}` : 'all targets met');
    if (opts.write) await writeResults({ rows, log, selected, machine: m, repeat: opts.repeat });
    console.log(`total ${((now() - t0) / 1000).toFixed(1)} s`);
    if (failures > 0) process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', interrupted);
    await cleanUp();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});

/** The hand-written reading of the figures (bench/ANALYSIS.md), kept across `--write` runs. */
async function analysis(): Promise<string> {
  try {
    return `\n${(await readFile(join(ROOT, 'bench', 'ANALYSIS.md'), 'utf8')).trim()}\n`;
  } catch {
    return '';
  }
}
