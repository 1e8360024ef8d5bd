/**
 * Change points in a history of suites (npm run compare -- --history DIR…, the suites in commit order): per cell and
 * metric, where the series moved, by how much, and at which commit. The method is binary segmentation with Welch's
 * t-test, in the manner of Apache Otava's t-test change points: find the split of the series whose two sides differ
 * most (largest |t| between the runs before and the runs after), keep it when it is significant after a Bonferroni
 * correction over the candidate splits and larger than the metric's threshold, then look again on each side. Every
 * run of every suite is one sample, so a suite with more runs weighs more. Pure.
 */
import { compareSamples, mean } from '../data/stats.js';

export interface Point {
  /** Index of the first suite after the change. */
  at: number;
  /** Relative change of the mean, after vs before (within the segment it was found in). */
  change: number;
  pValue: number;
}

export interface HistoryOptions {
  /** Smallest relative change that counts (0.05 = 5 %). */
  threshold: number;
  /** Family-wise significance per segment searched. */
  alpha: number;
  /** Suites needed on each side of a change. */
  minSuites: number;
  /**
   * Suites on each side a split is judged on (Otava's window): a step up and back down (a regression reverted)
   * judged over the whole series mixes both levels on one side. Measured: a +57 % instructions/msg regression held
   * for 4 of 10 suites, one counted run each, was not found over the whole series (p above α over the splits).
   */
  window?: number;
}

/** Change points of one series (one array of run values per suite), in order. */
export function changePoints(series: readonly (readonly number[])[], o: HistoryOptions): Point[] {
  const found: Point[] = [];
  const search = (from: number, to: number): void => {
    // A split at k compares suites [from, k) with [k, to).
    const candidates: { at: number; t: number; change: number; p: number }[] = [];
    for (let k = from + o.minSuites; k <= to - o.minSuites; k++) {
      const w = o.window ?? Infinity;
      const before = series.slice(Math.max(from, k - w), k).flat();
      const after = series.slice(k, Math.min(to, k + w)).flat();
      if (before.length < 2 || after.length < 2) continue;
      const test = compareSamples(before, after, o.alpha);
      const sd = Math.sqrt(variance(before) / before.length + variance(after) / after.length);
      const t = sd > 0 ? Math.abs(mean(after) - mean(before)) / sd : mean(after) === mean(before) ? 0 : Infinity;
      candidates.push({ at: k, t, change: test.change, p: test.pValue });
    }
    if (candidates.length === 0) return;
    const best = candidates.reduce((a, b) => (b.t > a.t ? b : a));
    if (!(best.p < o.alpha / candidates.length) || !(Math.abs(best.change) > o.threshold)) return;
    found.push({ at: best.at, change: best.change, pValue: best.p });
    search(from, best.at);
    search(best.at, to);
  };
  search(0, series.length);
  // Each change is then measured between its neighbouring segments (the split that found it may have had a later
  // change on its far side: 100 → 115 → 100 is found first as 100 against the 107.5 that follows).
  const ats = found.map((p) => p.at).sort((a, b) => a - b);
  return ats.map((at, i) => {
    const before = series.slice(i > 0 ? ats[i - 1]! : 0, at).flat();
    const after = series.slice(at, i + 1 < ats.length ? ats[i + 1]! : series.length).flat();
    const test = compareSamples(before, after, o.alpha);
    return { at, change: test.change, pValue: test.pValue };
  });
}

function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.length > 1 ? xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) : 0;
}
