/**
 * What a finished suite leaves beside its records, each file a renderer's output for the one judgement: summary.json,
 * report.md, report.html, results.csv, cost-model.txt, the github-action-benchmark files, compare.* with a gate, and
 * the SVG charts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ResultsDir } from '../data/records-file.js';
import type { SuiteJudgement } from '../judge/judgement.js';
import { summaryJson } from '../format/summary.js';
import { markdownReport } from '../format/markdown.js';
import { htmlReport } from '../format/html.js';
import { recordsToCsv } from '../format/csv.js';
import { githubBenchmarkJson } from '../format/github-benchmark.js';
import { costModelText } from '../format/cost-model.js';
import { compareMarkdown, compareTable } from '../format/compare.js';
import { chartFile } from '../format/chart-files.js';
import { groupByWorkload } from '../format/table.js';

/** Where a render writes: a suite's folder. */
export type ReportSink = Pick<ResultsDir, 'write'>;

/** vega's browser build, inlined into report.html so the page needs no network. */
function vegaBrowserSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('vega/build/vega.min.js'), 'utf8');
}

/** Every report file but the charts. */
export function writeReports(sink: ReportSink, j: SuiteJudgement): void {
  sink.write('cost-model.txt', `${costModelText(j, true)}\n`);
  sink.write('summary.json', summaryJson(j));
  sink.write('report.md', markdownReport(j));
  sink.write('results.csv', recordsToCsv(j.records));
  const benchmark = githubBenchmarkJson(j.cells);
  sink.write('github-action-benchmark/bigger-is-better.json', JSON.stringify(benchmark.bigger, null, 2) + '\n');
  sink.write('github-action-benchmark/smaller-is-better.json', JSON.stringify(benchmark.smaller, null, 2) + '\n');
  if (j.gate) {
    const { result, thresholdPercent } = j.gate;
    sink.write('compare.txt', compareTable(result.report, thresholdPercent, result.decision, true) + '\n');
    sink.write('compare.md', compareMarkdown(result.report, thresholdPercent, result.decision));
    sink.write('compare.json', JSON.stringify(result, null, 2) + '\n');
  }
  sink.write('report.html', htmlReport(j, vegaBrowserSource()));
}

/** Per workload a throughput chart and the latency percentile curves, and the verdict heatmap, as SVG. Returns how many were written. */
export async function writeCharts(sink: ReportSink, j: SuiteJudgement): Promise<number> {
  // vega and vega-lite take ~0.35 s to load: only a suite that draws charts pays it (not --help, a bad flag, a test).
  const { latencySpec, loadSpec, renderSvg, throughputSpec, verdictSpec } = await import('../format/charts.js');
  let n = 0;
  for (const [name, group] of groupByWorkload(j.cells)) {
    sink.write(chartFile('throughput', name), await renderSvg(throughputSpec(name, group)));
    sink.write(chartFile('latency', name), await renderSvg(latencySpec(name, group)));
    n += 2;
  }
  for (const row of j.capacity) {
    sink.write(chartFile('load', `${row.protocol}/${row.workload}`), await renderSvg(loadSpec(row)));
    n++;
  }
  sink.write('charts/verdict.svg', await renderSvg(verdictSpec(j.rows, j.models)));
  return n + 1;
}
