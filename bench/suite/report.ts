/** What a finished suite leaves behind besides its records: the verdict text, Markdown, CSV, summary and charts. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CellSummary } from '../judge/aggregate.js';
import type { Workload } from '../data/workloads.js';
import { MODELS } from '../../servers/registry.js';
import { isCeiling, type RunRecord } from '../data/record.js';
import { verdict, type VerdictRow } from '../judge/verdict.js';
import type { ResultsDir } from '../data/records-file.js';
import { groupByWorkload } from '../format/table.js';
import { formatCpuPerMsg, METRICS, type MetricId } from '../data/metrics.js';
import { formatPercent } from '../../lib/format/units.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { markdownReport } from '../format/markdown.js';
import { verdictTable, winnerText } from '../format/verdict.js';
import { chartFile } from '../format/chart-files.js';
import { recordsToCsv } from '../format/csv.js';
import { githubBenchmarkJson } from '../format/github-benchmark.js';
import { makeDirectory } from '../../lib/files.js';

/** The verdict rows and the model columns (registry order, then ceilings) for a set of cells. */
export function verdictOf(cells: readonly CellSummary[]): { rows: VerdictRow[]; models: string[] } {
  const references = [...MODELS.filter((m) => m.runtime === 'native').map((m) => m.name), ...new Set(cells.map((c) => c.model).filter(isCeiling))];
  const present = new Set(cells.map((c) => c.model));
  const models = [...MODELS.map((m) => m.name).filter((m) => present.has(m)), ...[...present].filter(isCeiling)];
  const margin = (cells[0]?.marginPercent ?? DEFAULTS.marginPercent) / 100;
  return { rows: verdict(cells, { references, margin }), models };
}

/** The costs that say why, in the order they are looked at: each shown where it differs from the leader's. */
const WHY: readonly { id: MetricId; short: string; notable(c: number, leader: number): boolean }[] = [
  { id: 'cpuPerMsg', short: 'CPU µs', notable: (c, l) => c / l > 1.15 || c / l < 0.87 },
  { id: 'instructionsPerMsg', short: 'instructions', notable: (c, l) => c / l > 1.1 || c / l < 0.9 },
  { id: 'syscallsPerMsg', short: 'syscalls', notable: (c, l) => Math.abs(c - l) >= 0.2 },
  // Context switches per message are near zero on a busy loop: only a whole one more per message is worth a word.
  { id: 'ctxSwitchesPerMsg', short: 'ctx sw', notable: (c, l) => c - l >= 0.5 },
];

function range(values: readonly number[], format: (v: number) => string): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return format(lo) === format(hi) ? format(lo) : `${format(lo)}–${format(hi)}`;
}

/**
 * Why a row came out as it did: the tie group's costs per message (ranges), and for each model behind, its score
 * with what differs from the leader: CPU used (fewer CPUs busy), CPU per message, instructions, syscalls, context
 * switches (× the leader's), connections it serves at once. Pure.
 */
export function explainRow(row: VerdictRow, cells: readonly CellSummary[]): string | undefined {
  const byModel = new Map(cells.filter((c) => c.workload === row.workload && c.params.protocol === row.protocol).map((c) => [c.model, c]));
  const med = (c: CellSummary, id: MetricId): number => c.metrics[id].median;
  const group = (row.winners.length > 0 ? row.winners : (row.leading ?? [])).map((m) => byModel.get(m)).filter((c): c is CellSummary => c !== undefined);
  const leader = group[0];
  if (!leader) return undefined;
  const costs = WHY.filter((w) => group.every((c) => Number.isFinite(med(c, w.id)))).map((w) => `${range(group.map((c) => med(c, w.id)), METRICS[w.id].format)} ${w.short}`);
  const behind = row.cells
    .filter((v) => v.status === 'beaten' || v.status === 'behind' || v.status === 'missed-rate' || v.status === 'undecided')
    .sort((a, b) => (b.relative ?? 0) - (a.relative ?? 0))
    .flatMap((v) => {
      const c = byModel.get(v.model);
      if (!c) return [];
      const notes: string[] = [];
      if (v.status === 'missed-rate') notes.push('missed the rate');
      if (c.servesAtOnce !== undefined && c.servesAtOnce < c.params.connections) notes.push(`serves ${c.servesAtOnce} of ${c.params.connections} connections at once`);
      if (leader.serverCpuPercent > 1.3 * c.serverCpuPercent) notes.push(`server CPU ${formatPercent(c.serverCpuPercent)} vs ${formatPercent(leader.serverCpuPercent)}`);
      for (const w of WHY) {
        const x = med(c, w.id);
        const l = med(leader, w.id);
        if (Number.isFinite(x) && Number.isFinite(l) && l > 0 && w.notable(x, l)) notes.push(`${METRICS[w.id].format(x)} ${w.short}/msg (${(x / l).toFixed(1)}×)`);
        if (notes.length >= 3) break;
      }
      return [`${v.model} ${v.relative !== undefined ? v.relative.toFixed(2) : '?'}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`];
    });
  const parts = [`${group.length > 1 ? 'tie group' : leader.model} at ${costs.join(', ')} per message`];
  if (behind.length > 0) parts.push(`behind it: ${behind.join('; ')}`);
  return parts.join('; ');
}

/** The verdict matrix, then one line per workload: who won, and what the designs predict. */
export function verdictReport(cells: readonly CellSummary[], workloads: readonly Workload[], plain = false): string {
  const { rows, models } = verdictOf(cells);
  return `${verdictTable(rows, models, plain)}\n${verdictLines(cells, workloads)}`;
}

/** Per workload: who won (or what is undecided), why, and what the designs predict. */
export function verdictLines(cells: readonly CellSummary[], workloads: readonly Workload[]): string {
  const { rows } = verdictOf(cells);
  const lines = rows.map((row) => {
    const predicts = workloads.find((w) => w.name === row.workload)?.predicts;
    const won = winnerText(row, true);
    // When the client set the pace, the servers' CPU cost per message still tells them apart.
    const costs = row.clientBound
      ? cells
          .filter((c) => c.workload === row.workload && c.params.protocol === row.protocol && Number.isFinite(c.serverCpuUsPerMsg) && !isCeiling(c.model))
          .sort((a, b) => a.serverCpuUsPerMsg - b.serverCpuUsPerMsg)
          .map((c) => `${c.model} ${formatCpuPerMsg(c.serverCpuUsPerMsg)}`)
      : [];
    const cost = costs.length > 0 ? `; server CPU µs per message, cheapest first: ${costs.join(', ')}` : '';
    const why = explainRow(row, cells);
    return `  ${row.workload}: ${won}${cost}${why ? `\n    why: ${why}` : ''}${predicts ? `\n    predicted: ${predicts}` : ''}`;
  });
  return lines.join('\n');
}

/** Per workload a throughput chart and the latency percentile curves, and the verdict heatmap, as SVG. Returns how many were written. */
export async function writeCharts(results: Pick<ResultsDir, 'write'>, cells: readonly CellSummary[]): Promise<number> {
  // vega and vega-lite take ~0.35 s to load: only a suite that draws charts pays it (not --help, a bad flag, a test).
  const { latencySpec, renderSvg, throughputSpec, verdictSpec } = await import('../format/charts.js');
  let n = 0;
  for (const [name, group] of groupByWorkload(cells)) {
    results.write(chartFile('throughput', name), await renderSvg(throughputSpec(name, group)));
    results.write(chartFile('latency', name), await renderSvg(latencySpec(name, group)));
    n += 2;
  }
  const { rows, models } = verdictOf(cells);
  results.write('charts/verdict.svg', await renderSvg(verdictSpec(rows, models)));
  return n + 1;
}

export function writeReports(results: Pick<ResultsDir, 'suiteId' | 'write'>, env: RunRecord['env'], split: string, cells: CellSummary[], records: RunRecord[], verdictText: string): void {
  results.write('summary.json', JSON.stringify({ suiteId: results.suiteId, env, split, cells }, null, 2) + '\n');
  results.write('report.md', markdownReport(`conbench ${results.suiteId}`, env, split, cells, verdictText));
  results.write('results.csv', recordsToCsv(records));
  const benchmark = githubBenchmarkJson(cells);
  results.write('github-action-benchmark/bigger-is-better.json', JSON.stringify(benchmark.bigger, null, 2) + '\n');
  results.write('github-action-benchmark/smaller-is-better.json', JSON.stringify(benchmark.smaller, null, 2) + '\n');
}


/** Writes a suite's records as the baseline the regression gate compares with. */
export function saveBaseline(root: string, records: readonly RunRecord[]): string {
  const dir = path.join(root, 'baseline');
  makeDirectory(dir);
  const file = path.join(dir, 'records.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}
