/**
 * The suite's typical spread of each deciding measure, the prior a comparison's own spread from few runs is pooled
 * with (bench/judge/verdict.ts): a spread from two runs or two blocks is itself off by a factor of 2–3 either way.
 */
import type { CellSummary } from './aggregate.js';
import { deciderFor, pairsOf, valuesOf, type Decider, type VerdictOptions } from './verdict.js';
import { mean, median, sampleStandardDeviation } from '../data/stats.js';

/**
 * The suite's typical run-to-run spread of each deciding measure: the median relative SD over the cells with at
 * least two runs (ceiling rows included: the machine's noise is what it measures). Pure.
 */
export function suiteSpread(cells: readonly CellSummary[]): NonNullable<VerdictOptions['spreadPrior']> {
  const by: Partial<Record<Decider['metric'], number[]>> = {};
  const pairedBy: Partial<Record<Decider['metric'], number[]>> = {};
  const rows = new Map<string, CellSummary[]>();
  for (const c of cells) {
    if (c.status !== 'ok' || c.clientSaturated) continue;
    const d = deciderFor(c);
    const v = valuesOf(c, d);
    if (v.length < 2 || !(mean(v) > 0)) continue;
    (by[d.metric] ??= []).push(sampleStandardDeviation(v) / mean(v));
    const key = `${c.params.protocol}/${c.workload}`;
    rows.set(key, [...(rows.get(key) ?? []), c]);
  }
  // Paired: the SD of the log ratio within a block, of each model against its row's best (by mean).
  for (const row of rows.values()) {
    const d = deciderFor(row[0]!);
    const score = (c: CellSummary): number => (d.better === 'higher' ? 1 : -1) * mean(valuesOf(c, d));
    const best = row.reduce((b, c) => (score(c) > score(b) ? c : b));
    for (const c of row) {
      const pairs = c === best ? undefined : pairsOf(best, c, d);
      if (!pairs) continue;
      const logs = pairs.x.map((x, i) => Math.log(x / pairs.leader[i]!)).filter(Number.isFinite);
      if (logs.length >= 2) (pairedBy[d.metric] ??= []).push(sampleStandardDeviation(logs));
    }
  }
  const medians = (from: typeof by): Partial<Record<Decider['metric'], number>> =>
    Object.fromEntries((Object.entries(from) as [Decider['metric'], number[]][]).map(([k, v]) => [k, median(v)]));
  const paired = medians(pairedBy);
  return { ...medians(by), ...(Object.keys(paired).length > 0 ? { paired } : {}) };
}
