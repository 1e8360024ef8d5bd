/** The history report: per cell and metric, the change points found in a series of suites, with their commits. Pure. */
import Table from 'cli-table3';
import { changePoints } from '../judge/history.js';
import { instructionRuns, timedRuns } from '../judge/aggregate.js';
import { commonSource, METRIC_IDS, METRICS, samplesOf, sourcesFor, type MetricId } from '../data/metrics.js';
import { COUNT_THRESHOLDS } from '../judge/compare.js';
import { cellKey, splitSides, type RunRecord } from '../data/record.js';

/** Suites a side each split is judged on (bench/judge/history.ts). */
const HISTORY_WINDOW = 3;

const HISTORY_METRICS: readonly MetricId[] = METRIC_IDS.filter((id) => METRICS[id].history);

export interface SuiteInHistory {
  label: string;
  records: readonly RunRecord[];
}

export function historyReport(suites: readonly SuiteInHistory[], o: { threshold: number; alpha: number }): string {
  // An --against suite stands for its head (the commit it measured).
  const heads = suites.map((s) =>
    s.records.some((r) => r.side !== undefined) ? splitSides(s.records)[1] : [...s.records],
  );
  const commit = (i: number): string => {
    const r = heads[i]![0];
    return r ? `${r.env.gitCommit}${r.env.gitDirty ? '+dirty' : ''}` : '?';
  };
  const cells = [...new Set(heads.flatMap((rs) => rs.filter((r) => r.status === 'ok').map((r) => cellKey(r))))];
  const table = new Table({
    head: ['cell', 'metric', 'change', 'at suite', 'commit', 'before → after', 'p'],
    style: { compact: true, head: [], border: [] },
  });
  let found = 0;
  for (const cell of cells) {
    for (const id of HISTORY_METRICS) {
      const series = heads.map((rs) => {
        const mine = rs.filter((r) => r.status === 'ok' && cellKey(r) === cell);
        // One source a suite (data/metrics.ts: sourcesFor): its timed runs, or a suite that only counted, its counted windows.
        const runsOf = { timed: timedRuns(mine), counted: instructionRuns(mine) };
        const source = commonSource(id, 'show', [
          new Set(sourcesFor(id, 'show').filter((src) => samplesOf(id, runsOf[src]).length > 0)),
        ]);
        return source ? samplesOf(id, runsOf[source]) : [];
      });
      if (series.filter((x) => x.length > 0).length < 4) continue;
      const present = series.map((x, i) => ({ x, i })).filter((s) => s.x.length > 0);
      const threshold = COUNT_THRESHOLDS[id]?.relative ?? o.threshold;
      const points = changePoints(
        present.map((s) => s.x),
        { threshold, alpha: o.alpha, minSuites: 2, window: HISTORY_WINDOW },
      );
      for (const [k, p] of points.entries()) {
        const at = present[p.at]!.i;
        // Between its neighbouring change points, as the change itself is measured.
        const before = present.slice(k > 0 ? points[k - 1]!.at : 0, p.at).flatMap((s) => s.x);
        const after = present
          .slice(p.at, k + 1 < points.length ? points[k + 1]!.at : present.length)
          .flatMap((s) => s.x);
        const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        table.push([
          cell,
          METRICS[id].label,
          `${p.change >= 0 ? '+' : ''}${(p.change * 100).toFixed(1)}%`,
          String(at + 1),
          commit(at),
          `${METRICS[id].format(avg(before))} → ${METRICS[id].format(avg(after))}`,
          p.pValue < 1e-4 ? '<1e-4' : p.pValue.toFixed(4),
        ]);
        found++;
      }
    }
  }
  const lines = [
    `history of ${suites.length} suites (in the order given): change points by binary segmentation with Welch's t-test (Bonferroni over the splits, α ${o.alpha}),`,
    `counted when larger than the metric's threshold (timing ${(o.threshold * 100).toFixed(0)}%, instructions ${(COUNT_THRESHOLDS.instructionsPerMsg!.relative * 100).toFixed(0)}%, syscalls ${(COUNT_THRESHOLDS.syscallsPerMsg!.relative * 100).toFixed(0)}%)`,
    ...suites.map((s, i) => `  ${String(i + 1).padStart(2)}. ${commit(i)}  ${s.label}`),
  ];
  return [...lines, found > 0 ? table.toString() : 'no change point in any cell'].join('\n');
}
