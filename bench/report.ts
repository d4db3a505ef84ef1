import { CLIENT_LABEL, type ClientKind, type MetricSpec } from './types.js';

const MIB = 1024 * 1024;

/** One row of the results table: a metric of a case, for both clients. */
export interface Row {
  caseKey: string;
  /** The case's peer label when it is not nats.js (`BenchCase.peer`). */
  peer?: string;
  spec: MetricSpec;
  value: Record<ClientKind, number>;
  /** ours/peer (nats.js unless `peer` names another); NaN when a figure is missing. */
  ratio: number;
  /** Peak RSS in bytes of the case's workers (the largest over the repeats). */
  rss: Record<ClientKind, number>;
}

export interface Verdict {
  ratio: number;
  /** Undefined when the metric has no target or a figure is missing. */
  ratioMet?: boolean;
  rssMet?: boolean;
}

export function judge(row: Row): Verdict {
  const ratio = row.ratio;
  const target = row.spec.target;
  if (!target || !Number.isFinite(ratio)) return { ratio };
  const ratioMet = row.spec.better === 'higher' ? ratio >= target.ratio : ratio <= target.ratio;
  const rssMet =
    target.maxRssMb === undefined || !Number.isFinite(row.rss.ours)
      ? undefined
      : row.rss.ours < target.maxRssMb * MIB;
  return { ratio, ratioMet, rssMet };
}

const mark = (met: boolean | undefined): string =>
  met === undefined ? '' : met ? 'met' : 'MISSED';

function figure(value: number, spec: MetricSpec): string {
  if (!Number.isFinite(value)) return 'failed';
  if (spec.unit === 'µs') return `${value.toFixed(1)} µs`;
  if (spec.unit === 'MB/s') return `${value.toFixed(1)} MB/s`;
  return `${Math.round(value).toLocaleString('en-US')} msgs/s`;
}

const mib = (bytes: number): string =>
  Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(1)} MiB` : '—';

function cells(row: Row): string[] {
  const v = judge(row);
  const t = row.spec.target;
  const goal = t ? `${row.spec.better === 'higher' ? '≥' : '≤'} ${t.ratio}×` : '';
  const ratio = Number.isFinite(v.ratio) ? `${v.ratio.toFixed(2)}×` : '—';
  const rssGoal = t?.maxRssMb !== undefined ? ` (< ${t.maxRssMb} MiB ${mark(v.rssMet)})` : '';
  return [
    row.spec.label,
    figure(row.value.ours, row.spec),
    figure(row.value.natsjs, row.spec),
    ratio,
    goal ? `${goal} ${mark(v.ratioMet)}` : '',
    `${mib(row.rss.ours)}${rssGoal}`,
    mib(row.rss.natsjs),
  ];
}

const header = (peer: string): string[] => [
  'case',
  CLIENT_LABEL.ours,
  peer,
  `ours/${peer}`,
  'target',
  `peak RSS ${CLIENT_LABEL.ours}`,
  `peak RSS ${peer}`,
];
// Figures and ratios read better right-aligned.
const RIGHT = [false, true, true, true, false, true, true];

/** Consecutive rows with the same peer, each run printed under a header naming that peer. */
function sections(rows: Row[]): { head: string[]; lines: string[][] }[] {
  const out: { peer: string; head: string[]; lines: string[][] }[] = [];
  for (const row of rows) {
    const peer = row.peer ?? CLIENT_LABEL.natsjs;
    let last = out.at(-1);
    if (last?.peer !== peer) out.push((last = { peer, head: header(peer), lines: [] }));
    last.lines.push(cells(row));
  }
  return out.length ? out : [{ head: header(CLIENT_LABEL.natsjs), lines: [] }];
}

/** The table as aligned plain text for the terminal. */
export function textTable(rows: Row[]): string {
  const parts = sections(rows);
  const all = parts.flatMap((p) => [p.head, ...p.lines]);
  const widths = parts[0].head.map((_, i) => Math.max(...all.map((l) => [...l[i]].length)));
  const fmt = (l: string[]): string =>
    l
      .map((c, i) => (RIGHT[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return parts.map((p) => [fmt(p.head), rule, ...p.lines.map(fmt)].join('\n')).join('\n\n');
}

/** The table in GitHub markdown (one table per peer). */
export function markdownTable(rows: Row[]): string {
  const line = (l: string[]): string => `| ${l.join(' | ')} |`;
  const align = RIGHT.map((r) => (r ? '---:' : '---'));
  return sections(rows)
    .map((p) => [line(p.head), line(align), ...p.lines.map(line)].join('\n'))
    .join('\n\n');
}

/** Rows whose target (ratio or RSS) was missed. */
export function missed(rows: Row[]): Row[] {
  return rows.filter((r) => {
    const v = judge(r);
    return v.ratioMet === false || v.rssMet === false;
  });
}

/** The Nest send() p50 target: our overhead above the no-client floor ≤ this × Nest built-in's. */
export const NEST_OVERHEAD_TARGET = 0.25;

/**
 * Nest `send()` p50 overheads above the no-client floor (both in µs) and their ratio, when the run
 * measured both cases; the target compares overheads because the floor (kernel, loopback, server)
 * is most of a round trip on this machine and no client can go below it.
 */
export function nestOverhead(rows: Row[]): string | undefined {
  const p50 = (id: string) => rows.find((r) => r.caseKey.endsWith(id) && r.spec.key === 'p50');
  const send = p50('nest-send-seq');
  const floor = p50('nest-send-floor');
  if (!send || !floor) return undefined;
  const ours = send.value.ours - floor.value.ours;
  const builtIn = send.value.natsjs - floor.value.ours;
  const ratio = ours / builtIn;
  const met = Number.isFinite(ratio) ? mark(ratio <= NEST_OVERHEAD_TARGET) : 'failed';
  return (
    `Nest send() p50 above the no-client floor (${floor.value.ours.toFixed(1)} µs): ours ` +
    `${ours.toFixed(1)} µs, Nest built-in ${builtIn.toFixed(1)} µs, ratio ${ratio.toFixed(2)}× ` +
    `(target ≤ ${NEST_OVERHEAD_TARGET}× ${met})`
  );
}
