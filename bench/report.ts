/** What a finished suite leaves behind besides its records: the verdict text, Markdown, CSV, summary and charts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CellSummary } from './aggregate.js';
import type { Workload } from './workloads.js';
import { MODELS } from '../servers/registry.js';
import { isCeiling, type RunRecord } from './record.js';
import { verdict, type VerdictRow } from './verdict.js';
import type { ResultsDir } from './results-dir.js';
import { groupByWorkload } from './format/table.js';
import { formatCpuPerMsg } from './metrics.js';
import { markdownReport } from './format/markdown.js';
import { verdictTable, winnerText } from './format/verdict.js';
import { chartFile } from './format/chart-files.js';
import { recordsToCsv } from './format/csv.js';
import { githubBenchmarkJson } from './format/github-benchmark.js';

/** The verdict rows and the model columns (registry order, then ceilings) for a set of cells. */
function verdictOf(cells: readonly CellSummary[]): { rows: VerdictRow[]; models: string[] } {
  const references = [...MODELS.filter((m) => m.runtime === 'native').map((m) => m.name), ...new Set(cells.map((c) => c.model).filter(isCeiling))];
  const present = new Set(cells.map((c) => c.model));
  const models = [...MODELS.map((m) => m.name).filter((m) => present.has(m)), ...[...present].filter(isCeiling)];
  return { rows: verdict(cells, { references }), models };
}

/** The verdict matrix, then one line per workload: who won, and what the designs predict. */
export function verdictReport(cells: readonly CellSummary[], workloads: readonly Workload[], plain = false): string {
  const { rows, models } = verdictOf(cells);
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
    return `  ${row.workload}: ${won}${cost}${predicts ? ` — predicted: ${predicts}` : ''}`;
  });
  return `${verdictTable(rows, models, plain)}\n${lines.join('\n')}`;
}

/** Per workload a throughput chart and the latency percentile curves, and the verdict heatmap, as SVG. Returns how many were written. */
export async function writeCharts(results: Pick<ResultsDir, 'write'>, cells: readonly CellSummary[]): Promise<number> {
  // vega and vega-lite take ~0.35 s to load: only a suite that draws charts pays it (not --help, a bad flag, a test).
  const { latencySpec, renderSvg, throughputSpec, verdictSpec } = await import('./format/charts.js');
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
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'records.jsonl');
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}
