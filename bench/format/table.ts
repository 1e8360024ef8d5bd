/** The per-workload cli-table3 tables. A pure function of cell summaries (plus the split to print). */
import Table from 'cli-table3';
import type { CellSummary } from '../aggregate.js';
import { isCeiling } from '../record.js';
import { describeParams as describeWorkload } from '../axes.js';
import { formatBytes, formatMicros, formatPercent, formatRate, formatSize } from '../../lib/format/units.js';

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
  if (c.starved > 0) parts.push(`starved ${c.starved}/${c.params.connections} conn${c.servesAtOnce !== undefined && c.servesAtOnce < c.params.connections ? ` (serves ${c.servesAtOnce} at once)` : ''}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

/** Median ± the 95% half-width; "?" marks an inconclusive cell (wider than the suite's target, or one run). */
export function throughputCell(c: CellSummary): string {
  const t = c.throughput;
  const margin = Number.isFinite(t.relativeMargin) ? ` ±${(t.relativeMargin * 100).toFixed(t.relativeMargin < 0.1 ? 1 : 0)}%` : '';
  return `${formatRate(t.median)}${margin}${c.conclusive ? '' : ' ?'}`;
}

/** Which driver, its CPU and its CPU per message (a ⚠ when it, not the server, set the pace). */
export function clientCell(c: CellSummary): string {
  const perMsg = Number.isFinite(c.clientCpuUsPerMsg) ? ` ${formatCpuPerMsg(c.clientCpuUsPerMsg)}µs` : '';
  return `${c.params.driver} ${formatPercent(c.clientCpuPercent)}${perMsg}${c.clientSaturated ? ' ⚠' : ''}`;
}

/** p50, p99, p99.9, server CPU, CPU µs/msg, server RSS: the columns every table format shares. */
export function latencyAndServerColumns(c: CellSummary): string[] {
  return [
    formatMicros(c.latency.p50),
    formatMicros(c.latency.p99),
    formatMicros(c.latency.p999),
    formatPercent(c.serverCpuPercent),
    formatCpuPerMsg(c.serverCpuUsPerMsg),
    Number.isFinite(c.serverRssBytes) ? formatBytes(c.serverRssBytes) : '–',
  ];
}

/** Steal time above this during a run makes the table warn that the machine was contended. */
export const STEAL_WARN_PERCENT = 5;

export function formatCpuPerMsg(us: number): string {
  if (!Number.isFinite(us)) return '–';
  if (us >= 1e4) return formatMicros(us); // e.g. a process start per message: "1.99s"
  return us >= 100 ? us.toFixed(0) : us.toFixed(2);
}

/** One table for the cells of one workload (already in display order). */
export function workloadTable(workload: string, cells: readonly CellSummary[], plain = false): string {
  const first = cells[0];
  if (!first) return '';
  const ms = cells.some((c) => c.latencyResolution === 'ms');
  const unit = ms ? 'µs (ms res.)' : 'µs';
  // UDP has no connection to fail: what goes wrong is datagrams, so they get columns of their own.
  const udp = first.params.protocol === 'udp';
  const table = new Table({
    head: ['model', 'workers', 'runs', 'msgs/s (±95% CI)', `p50 ${unit}`, `p99 ${unit}`, `p99.9 ${unit}`, 'server CPU', 'CPU µs/msg', 'server RSS', 'client CPU, µs/msg', ...(udp ? ['lost', 'dup', 'reord'] : []), 'errors'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', ...(udp ? (['right', 'right', 'right'] as const) : []), 'left'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const c of cells) {
    if (c.status !== 'ok') {
      table.push([c.model, '', String(c.totalRuns), { colSpan: udp ? 12 : 9, content: `${c.status}: ${c.reasons.join('; ')}` }]);
      continue;
    }
    table.push([
      isCeiling(c.model) ? `${c.model} (GET: driver ceiling)` : c.model,
      String(c.workers),
      runsCell(c),
      throughputCell(c),
      ...latencyAndServerColumns(c),
      clientCell(c),
      ...(udp ? [String(c.errors.lost), String(c.errors.duplicated), String(c.errors.reordered)] : []),
      errorsCell(c, udp),
    ]);
  }
  const lines = [`${workload}: ${describeParams(first)}`, table.toString()];
  const notes: string[] = [];
  const saturated = cells.filter((c) => c.clientSaturated);
  if (saturated.length > 0) {
    const why = saturated.some((c) => c.clientReason?.includes('ceiling')) ? 'client CPU ≥ 90 % or within 20 % of the driver ceiling' : 'client CPU ≥ 90 %';
    notes.push(`⚠ client-bound (${why}): ${saturated.map((c) => c.model).join(', ')} ${saturated.length === 1 ? 'measures' : 'measure'} the load client, not the server`);
  }
  if (ms) notes.push('latency from autocannon has whole-millisecond resolution');
  if (first.params.rate !== undefined) notes.push('open loop: latency from each frame\'s intended send time (no coordinated omission)');
  const steal = Math.max(...cells.map((c) => (Number.isFinite(c.hostStealPercent) ? c.hostStealPercent : 0)));
  if (steal >= STEAL_WARN_PERCENT) notes.push(`⚠ contended host: the hypervisor took up to ${steal.toFixed(0)}% of this VM's CPU time during these runs; treat close results and wide intervals with care`);
  const wide = cells.filter((c) => c.status === 'ok' && !c.conclusive && !isCeiling(c.model));
  if (wide.length > 0) {
    notes.push(`? inconclusive (95% interval of throughput or CPU µs/msg wider than ±${first.targetCiPercent}% after ${Math.max(...wide.map((c) => c.okRuns))} runs, or one run): ${wide.map((c) => c.model).join(', ')} — not ranked`);
  }
  const discarded = cells.reduce((n, c) => n + c.discardedRuns, 0);
  if (discarded > 0) notes.push(`${discarded} run(s) set aside and repeated: the hypervisor or other processes took CPU during them`);
  const waited = cells.filter((c) => c.readyWaitSec >= 0.5);
  if (waited.length > 0) notes.push(`window opened after the connections' first answers: ${waited.map((c) => `${c.model} waited ${c.readyWaitSec.toFixed(1)} s`).join(', ')}`);
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
