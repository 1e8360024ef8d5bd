/** The per-workload cli-table3 tables. A pure function of cell summaries (plus the split to print). */
import Table from 'cli-table3';
import type { CellSummary } from '../judge/aggregate.js';
import { isCeiling } from '../data/record.js';
import { describeParams as describeWorkload } from '../data/axes.js';
import { formatCpuPerMsg, METRICS, type MetricId } from '../data/metrics.js';
import { formatBytes, formatMicros, formatPercent, formatRate } from '../../lib/format/units.js';

/** A cell's workload header line. */
export function describeParams(c: CellSummary): string {
  return describeWorkload(c.params);
}

/** Runs that counted (+ set-aside ones, repeated). */
function runsCell(c: CellSummary): string {
  return `${c.okRuns}${c.discardedRuns > 0 ? `+${c.discardedRuns}` : ''}`;
}

export function errorsCell(c: CellSummary, datagramColumnsShown = false): string {
  const shown = new Set(datagramColumnsShown ? ['lost', 'duplicated', 'reordered'] : []);
  const parts = Object.entries(c.errors)
    .filter(([k, v]) => v > 0 && !shown.has(k))
    .map(([k, v]) => `${k} ${v}`);
  // Said once, short: "starved 49/50 conn (serves 1 at once)" wrapped the compact table in 100 columns.
  if (c.starved > 0) {
    const n = c.params.connections;
    const cap = c.servesAtOnce;
    parts.push(
      cap !== undefined && cap < n
        ? `serves ${cap}/${n} conn at once${c.starved !== n - cap ? `, starved ${c.starved}` : ''}`
        : `starved ${c.starved}/${n} conn`,
    );
  }
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** Median ± the 95% half-width; "?" marks an inconclusive cell (wider than the suite's target, or one run). */
export function throughputCell(c: CellSummary): string {
  const t = c.throughput;
  const margin = Number.isFinite(t.relativeMargin)
    ? ` ±${(t.relativeMargin * 100).toFixed(t.relativeMargin < 0.1 ? 1 : 0)}%`
    : '';
  return `${formatRate(t.median)}${margin}${c.conclusive ? '' : ' ?'}`;
}

/** Which driver, its CPU and its CPU per message (a ⚠ when it, not the server, set the pace). */
export function clientCell(c: CellSummary): string {
  const perMsg = Number.isFinite(c.clientCpuUsPerMsg) ? ` ${formatCpuPerMsg(c.clientCpuUsPerMsg)}µs` : '';
  return `${c.params.driver} ${formatPercent(c.clientCpuPercent)}${perMsg}${c.clientSaturated ? ' ⚠' : ''}`;
}

/** Steal time above this during a run makes the table warn that the machine was contended. */
export const STEAL_WARN_PERCENT = 5;

/** What a workload's table knows besides each cell: the latency unit, the protocol, what was measured at all. */
export interface TableContext {
  /** "µs", or "µs (ms res.)" when a driver gave whole milliseconds. */
  unit: string;
  udp: boolean;
  /** Some cell was counted under callgrind. */
  counts: boolean;
}

/** A column of the workload tables, defined once for the terminal and Markdown alike. */
export interface Column {
  header(t: TableContext): string;
  /** What the column shows, for docs/reference.md (generated: npm run docs). */
  describe: string;
  align: 'left' | 'right';
  cell(c: CellSummary, t: TableContext): string;
  /** Shown only where this holds (UDP's datagram columns). */
  when?(t: TableContext): boolean;
  /** Only in one of the two formats (Markdown has room for the interval's ends). */
  only?: 'terminal' | 'markdown';
}

/** A count's spread over its runs: (max − min) / median, the repeatability the gate's thresholds come from. */
function formatSpread(i: { n: number; low: number; high: number; median: number }): string {
  return i.n > 1 ? `${(((i.high - i.low) / 2 / i.median) * 100).toFixed(1)}%` : '';
}

/** Instructions per message, ± half the spread of the counted processes; '–' where nothing was counted. */
export function instructionsCell(c: CellSummary): string {
  return c.countedRuns > 0
    ? `${metricCell('instructionsPerMsg')(c)}${c.countedRuns > 1 ? ` ±${formatSpread(c.metrics.instructionsPerMsg)}` : ''}`
    : '–';
}

/** A latency percentile; '–' where no timed run measured one (a counted-only cell's windows record no latency). */
const latencyCell =
  (p: 'p50' | 'p99' | 'p999') =>
  (c: CellSummary): string =>
    c.okRuns > 0 ? formatMicros(c.latency[p]) : '–';

export const metricCell =
  (id: MetricId) =>
  (c: CellSummary): string =>
    METRICS[id].format(c.metrics[id].median);

/** A metric's own column (data/metrics.ts: column): its median over the cell's runs, described by the metric. */
function metricColumn(
  id: MetricId,
  o: { describe?: string; when?: Column['when']; cell?: Column['cell'] } = {},
): Column {
  const m = METRICS[id];
  return {
    header: () => m.column!,
    describe: `the median over the cell's runs of ${m.label}: ${m.describe}${o.describe ?? ''}`,
    align: 'right',
    cell: o.cell ?? metricCell(id),
    ...(o.when ? { when: o.when } : {}),
  };
}

export const COLUMNS: readonly Column[] = [
  {
    header: () => 'model',
    describe: "the concurrency model (the registry's name); the HTTP ceiling row says it measures the driver's ceiling",
    align: 'left',
    cell: (c) => (isCeiling(c.model) ? `${c.model} (GET: driver ceiling)` : c.model),
  },
  {
    header: () => 'workers',
    describe:
      'processes or threads that serve connections (fork-per-connection, thread-per-connection: its cap on live children or threads)',
    align: 'right',
    cell: (c) => String(c.workers),
  },
  {
    header: () => 'runs',
    describe:
      'runs that counted; `+k`: runs set aside (the hypervisor or another process took CPU during them) and repeated',
    align: 'right',
    cell: runsCell,
  },
  {
    header: () => 'msgs/s (±95% CI)',
    describe:
      "verified echoes per second: the median of the runs, ± the 95 % confidence interval of the mean (Student's t); `?`: undecided against the row's leader at the margin (see the verdict)",
    align: 'right',
    cell: throughputCell,
  },
  {
    header: () => '95% CI',
    describe: 'the ends of that interval (Markdown only)',
    align: 'right',
    only: 'markdown',
    cell: (c) =>
      Number.isFinite(c.throughput.relativeMargin)
        ? `${formatRate(Math.max(0, c.throughput.low))}–${formatRate(c.throughput.high)}`
        : 'n/a',
  },
  {
    header: (t) => `p50 ${t.unit}`,
    describe:
      "median latency, from the runs' HdrHistograms merged (percentiles are never averaged); open loop: from each frame's intended send time",
    align: 'right',
    cell: latencyCell('p50'),
  },
  {
    header: (t) => `p99 ${t.unit}`,
    describe: '99th percentile latency, from the merged histograms',
    align: 'right',
    cell: latencyCell('p99'),
  },
  {
    header: (t) => `p99.9 ${t.unit}`,
    describe: '99.9th percentile latency, from the merged histograms',
    align: 'right',
    cell: latencyCell('p999'),
  },
  {
    header: () => 'server CPU',
    describe: "the server's whole process tree's CPU over the window, in % of one CPU",
    align: 'right',
    cell: (c) => formatPercent(c.serverCpuPercent),
  },
  metricColumn('cpuPerMsg'),
  metricColumn('syscallsPerMsg'),
  metricColumn('ctxSwitchesPerMsg'),
  metricColumn('instructionsPerMsg', {
    describe: ', ± half the spread of the counted processes',
    when: (t) => t.counts,
    cell: instructionsCell,
  }),
  {
    header: () => 'server mem',
    describe:
      "the server tree's memory when the window closed, as PSS (a page shared by forked processes counted once; older records: peak summed RSS)",
    align: 'right',
    cell: (c) => (Number.isFinite(c.serverMemoryBytes) ? formatBytes(c.serverMemoryBytes) : '–'),
  },
  {
    header: () => 'client CPU, µs/msg',
    describe:
      "which driver measured the row, its CPU and its CPU per message; `⚠`: the driver was the bottleneck (a driver thread ≥ 90 % CPU, or HTTP within 20 % of the driver's ceiling), so the row is not ranked",
    align: 'right',
    cell: clientCell,
  },
  {
    header: () => 'lost',
    describe: 'UDP: datagrams sent and never answered',
    align: 'right',
    when: (t) => t.udp,
    cell: (c) => String(c.errors.lost),
  },
  {
    header: () => 'dup',
    describe: 'UDP: answers received twice',
    align: 'right',
    when: (t) => t.udp,
    cell: (c) => String(c.errors.duplicated),
  },
  {
    header: () => 'reord',
    describe: 'UDP: answers received out of order',
    align: 'right',
    when: (t) => t.udp,
    cell: (c) => String(c.errors.reordered),
  },
  {
    header: () => 'errors',
    describe:
      'mismatched bytes, socket errors, resets, timeouts (summed over runs) and `starved k/n conn`: connections that got no answer in the window (`serves s/n conn at once` where the model serves only s at once and the rest starved)',
    align: 'left',
    cell: (c, t) => errorsCell(c, t.udp),
  },
];

/** The columns one format shows for one workload's cells. */
export function columnsFor(
  format: 'terminal' | 'markdown',
  cells: readonly CellSummary[],
): { columns: Column[]; ctx: TableContext } {
  const ctx: TableContext = {
    unit: cells.some((c) => c.latencyResolution === 'ms') ? 'µs (ms res.)' : 'µs',
    udp: cells[0]?.params.protocol === 'udp',
    counts: cells.some((c) => c.countedRuns > 0),
  };
  return {
    columns: COLUMNS.filter((col) => (col.only === undefined || col.only === format) && (col.when?.(ctx) ?? true)),
    ctx,
  };
}

/** One table for the cells of one workload (already in display order). */
export function workloadTable(workload: string, cells: readonly CellSummary[], margin: number, plain = false): string {
  const first = cells[0];
  if (!first) return '';
  const ms = cells.some((c) => c.latencyResolution === 'ms');
  // UDP has no connection to fail: what goes wrong is datagrams, so they get columns of their own.
  const { columns, ctx } = columnsFor('terminal', cells);
  const table = new Table({
    head: columns.map((col) => col.header(ctx)),
    colAligns: columns.map((col) => col.align),
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const c of cells) {
    if (c.status !== 'ok') {
      table.push([
        c.model,
        '',
        String(c.totalRuns),
        { colSpan: columns.length - 3, content: `${c.status}: ${c.reasons.join('; ')}` },
      ]);
      continue;
    }
    if (c.okRuns === 0 && c.countedRuns === 0) {
      table.push([
        c.model,
        '',
        runsCell(c),
        { colSpan: columns.length - 3, content: `every run set aside: ${c.setAsideReasons[0] ?? ''}` },
      ]);
      continue;
    }
    table.push(columns.map((col) => col.cell(c, ctx)));
  }
  const lines = [`${workload}: ${describeParams(first)}`, table.toString()];
  const notes: string[] = [];
  const saturated = cells.filter((c) => c.clientSaturated);
  if (saturated.length > 0) {
    const why = saturated.some((c) => c.clientReason?.includes('ceiling'))
      ? 'client CPU ≥ 90 % or within 20 % of the driver ceiling'
      : 'client CPU ≥ 90 %';
    notes.push(
      `⚠ client-bound (${why}): ${saturated.map((c) => c.model).join(', ')} ${saturated.length === 1 ? 'measures' : 'measure'} the load client, not the server`,
    );
  }
  if (ms) notes.push('latency from autocannon has whole-millisecond resolution');
  if (first.params.rate !== undefined)
    notes.push("open loop: latency from each frame's intended send time (no coordinated omission)");
  const steal = Math.max(...cells.map((c) => (Number.isFinite(c.hostStealPercent) ? c.hostStealPercent : 0)));
  if (steal >= STEAL_WARN_PERCENT)
    notes.push(
      `⚠ contended host: the hypervisor took up to ${steal.toFixed(0)}% of this VM's CPU time during these runs; treat close results and wide intervals with care`,
    );
  // A counted-only suite has no timed run to decide on: nothing is "undecided" there.
  const wide = cells.filter((c) => c.status === 'ok' && c.okRuns > 0 && !c.conclusive && !isCeiling(c.model));
  if (wide.length > 0)
    notes.push(
      `? undecided against the row's leader at ±${+(margin * 100).toFixed(1)}% after ${Math.max(...wide.map((c) => c.okRuns))} runs (see the verdict): ${wide.map((c) => c.model).join(', ')}`,
    );
  const failed = cells.filter((c) => c.status === 'ok' && c.failedRuns > 0);
  if (failed.length > 0)
    notes.push(
      `⚠ failed runs (not measured; repeated): ${failed.map((c) => `${c.model} ${c.failedRuns}: ${c.failures.join('; ')}`).join('; ')}`,
    );
  const disturbed = cells.reduce((n, c) => n + c.disturbedRuns, 0);
  if (disturbed > 0)
    notes.push(
      `⚠ ${disturbed} run(s) counted although another process or the hypervisor took CPU during them (--if-disturbed keep): their figures carry that neighbour's noise`,
    );
  const discarded = cells.reduce((n, c) => n + c.discardedRuns, 0);
  if (discarded > 0)
    notes.push(`${discarded} run(s) set aside and repeated: the hypervisor or other processes took CPU during them`);
  const waited = cells.filter((c) => c.readyWaitSec >= 0.5);
  if (waited.length > 0)
    notes.push(
      `warmup began once the served connections had answered: ${waited.map((c) => `${c.model} waited ${c.readyWaitSec.toFixed(1)} s`).join(', ')}`,
    );
  if (notes.length > 0) lines.push(notes.join('; '));
  return lines.join('\n');
}

/** Cells grouped by workload, in first-seen order. */
export function groupByWorkload(cells: readonly CellSummary[]): Map<string, CellSummary[]> {
  const groups = new Map<string, CellSummary[]>();
  for (const c of cells) {
    const key = `${c.params.protocol}/${c.workload}`;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  return groups;
}
