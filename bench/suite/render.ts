/**
 * The one render pipeline, used by `npm run bench` when a suite ends and by `npm run report` on saved records:
 * records → cell summaries → driver ceiling → display order → tables → verdict → cost model → report files and
 * charts (→ the comparison, when there is one). Everything it needs is in the records (the window, the split), so
 * both commands print and write the same thing.
 */
import { summarizeRecords, type CellSummary } from '../judge/aggregate.js';
import { applyDriverCeiling } from '../host/ceiling.js';
import { isCeiling, isOk, splitSides, type RunRecord } from '../data/record.js';
import type { ResultsDir } from '../data/records-file.js';

/** Where a render writes: a suite's folder (its root also holds the micro runs the cost model reads). */
export type ReportSink = Pick<ResultsDir, 'root' | 'suiteId' | 'write'>;
import { groupByWorkload, workloadTable } from '../format/table.js';
import { verdictLines, verdictOf, verdictReport, writeCharts, writeReports } from './report.js';
import { costModelReport } from './cost-report.js';
import { FAMILIES, type Workload } from '../data/workloads.js';
import { expandFamily } from '../data/matrix.js';
import { compareMarkdown, compareTable } from '../format/compare.js';
import type { GateResult } from '../judge/gate.js';
import { htmlReport } from '../format/html.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** vega's browser build, inlined into report.html so the page needs no network. */
function vegaBrowserSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('vega/build/vega.min.js'), 'utf8');
}

export interface RenderOptions {
  /** No colour codes (files, pipes). */
  plain: boolean;
  /** The workloads the suite ran, for their predictions; default: every family's, matched by name. */
  workloads?: readonly Workload[];
  /** Why the suite stopped early, said under the verdict. */
  stopNote?: string;
  /** Draw the SVG charts (an interrupted suite leaves them to `npm run report`). */
  charts: boolean;
  /** The regression gate's result, printed last and written as compare.txt/.md/.json. */
  gate?: { result: GateResult; thresholdPercent: number; heading: string };
}

/** The suite's cells in display order: each workload's models, ceiling rows last, rows near the ceiling marked. */
export function suiteCells(records: readonly RunRecord[]): CellSummary[] {
  return applyDriverCeiling(summarizeRecords(records)).sort((a, b) => Number(isCeiling(a.model)) - Number(isCeiling(b.model)));
}

/** The cells with `conclusive` set from the verdict: a cell is decided when its comparison with the leader is. */
function decide(cells: CellSummary[]): CellSummary[] {
  const { rows } = verdictOf(cells);
  const undecided = new Set(rows.flatMap((r) => r.cells.filter((c) => c.status === 'undecided').map((c) => `${r.protocol}/${r.workload}/${c.model}`)));
  return cells.map((c) => ({ ...c, conclusive: c.okRuns >= 2 && !undecided.has(c.key) }));
}

/** "separate: server on CPU 0, client on CPU 1; shared: …", from what the records say. */
export function splitText(records: readonly RunRecord[]): string {
  const byMode = new Map<string, string>();
  for (const r of records) {
    if (!isOk(r) || byMode.has(r.params.pin)) continue;
    byMode.set(r.params.pin, r.split?.describe ?? `server on CPU ${r.server.cpus}, client on CPU ${r.clientCpus ?? 'unpinned'}`);
  }
  return [...byMode].map(([mode, d]) => `${mode}: ${d}`).join('; ');
}

/** Renders a suite: returns what to print, and writes report.md, report.html, results.csv, summary.json, cost-model.txt, charts/. */
export async function renderSuite(results: ReportSink, allRecords: readonly RunRecord[], o: RenderOptions): Promise<{ text: string; charts: number; chartError?: string }> {
  // An --against suite's tables and verdict are the head's (what the code measures now); the base is in the comparison.
  const records = allRecords.some((r) => r.side !== undefined) ? splitSides(allRecords)[1] : allRecords;
  const cells = decide(suiteCells(records));
  const workloads = o.workloads ?? FAMILIES.flatMap((f) => expandFamily(f));
  const env = records[0]!.env;
  const split = splitText(records);
  const window = records.find((r) => r.window)?.window;
  const tables = (plain: boolean): string => [...groupByWorkload(cells)].map(([name, group]) => workloadTable(name, group, plain)).join('\n\n');
  const verdict = (plain: boolean): string => `${verdictReport(cells, workloads, plain)}${o.stopNote ? `\n\n${o.stopNote}` : ''}`;
  const costModel = (plain: boolean): string =>
    costModelReport(cells, results.root, { env, plain, ...(window ? { warmupSec: window.warmupSec, windowSec: window.durationSec } : {}) });
  const gate = (plain: boolean): string => (o.gate ? `\n\n${o.gate.heading}\n${compareTable(o.gate.result.report, o.gate.thresholdPercent, o.gate.result.decision, plain)}` : '');

  results.write('cost-model.txt', `${costModel(true)}\n`);
  writeReports(results, env, split, cells, [...allRecords], verdict(true));
  if (o.gate) {
    results.write('compare.txt', compareTable(o.gate.result.report, o.gate.thresholdPercent, o.gate.result.decision, true) + '\n');
    results.write('compare.md', compareMarkdown(o.gate.result.report, o.gate.thresholdPercent, o.gate.result.decision));
    results.write('compare.json', JSON.stringify(o.gate.result, null, 2) + '\n');
  }
  results.write('report.html', htmlReport({
    title: `conbench ${results.suiteId}`,
    env,
    split,
    cells,
    ...verdictOf(cells),
    runs: allRecords,
    verdictText: `${verdictLines(cells, workloads)}${o.stopNote ? `\n\n${o.stopNote}` : ''}`,
    costModel: costModel(true),
    ...(o.gate ? { comparison: { heading: o.gate.heading, decision: o.gate.result.decision, report: o.gate.result.report } } : {}),
  }, vegaBrowserSource()));
  let chartError: string | undefined;
  // Charts draw timed runs; a counted-only suite has none (empty scales would be drawn as infinities).
  const timed = records.some((r) => r.status === 'ok' && r.counts === undefined);
  const charts = o.charts && timed
    ? await writeCharts(results, cells).catch((error: Error) => {
        chartError = error.message;
        return 0;
      })
    : 0;
  const text = `${tables(o.plain)}\n\nCPU split — ${split}\n\nVerdict\n${verdict(o.plain)}\n\n${costModel(o.plain)}${gate(o.plain)}\n`;
  return { text, charts, ...(chartError ? { chartError } : {}) };
}
