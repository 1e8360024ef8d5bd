/**
 * Statistics over repeated runs: medians, a 95% confidence interval (Student's t on the mean, so it widens
 * honestly when runs are few), and Welch's t-test for "is A really different from B". Every statistic comes from
 * one maintained library family (@stdlib).
 */
import stdlibMean from '@stdlib/stats-base-mean';
import stdlibStdev from '@stdlib/stats-base-stdev';
import medianSorted from '@stdlib/stats-base-mediansorted';
import ttest from '@stdlib/stats-ttest';
import ttest2 from '@stdlib/stats-ttest2';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : stdlibMean(xs.length, [...xs], 1);
}

export function median(xs: readonly number[]): number {
  return xs.length === 0
    ? NaN
    : medianSorted(
        xs.length,
        [...xs].sort((a, b) => a - b),
        1,
      );
}

/** Sample standard deviation (n − 1 in the denominator). */
export function sampleStandardDeviation(xs: readonly number[]): number {
  return xs.length < 2 ? NaN : stdlibStdev(xs.length, 1, [...xs], 1);
}

export interface Interval {
  n: number;
  mean: number;
  median: number;
  low: number;
  high: number;
  /** Half-width of the interval as a fraction of the mean (the margin of error). */
  relativeMargin: number;
}

/** 95% interval of the mean; a single sample has no interval (low = high = the sample, margin NaN). */
export function confidenceInterval(xs: readonly number[], level = 0.95): Interval {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, median: NaN, low: NaN, high: NaN, relativeMargin: NaN };
  const avg = mean(xs);
  const med = median(xs);
  if (n < 2) return { n, mean: avg, median: med, low: avg, high: avg, relativeMargin: NaN };
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sampleStandardDeviation(xs) / Math.sqrt(n));
  return {
    n,
    mean: avg,
    median: med,
    low: avg - half,
    high: avg + half,
    relativeMargin: avg !== 0 ? half / Math.abs(avg) : NaN,
  };
}

/**
 * Runs a side (both suites alike, at the spread of `xs`) for an identical rerun's 95 % change interval to fit within
 * ±`threshold` of the mean; undefined beyond 1000 or without a spread.
 */
export function runsToResolve(xs: readonly number[], threshold: number, level = 0.95): number | undefined {
  const s = sampleStandardDeviation(xs) / Math.abs(mean(xs));
  if (!Number.isFinite(s) || s === 0) return undefined;
  for (let n = 2; n <= 1000; n++) {
    if (tQuantile(1 - (1 - level) / 2, 2 * n - 2) * s * Math.sqrt(2 / n) < threshold) return n;
  }
  return undefined;
}

export interface Comparison {
  /** (b − a) / a of the means: +0.10 means b is 10 % higher. */
  change: number;
  /** 95 % (1 − alpha) interval of the change: Welch's interval of b − a, divided by a's mean. NaN without a test. */
  changeLow: number;
  changeHigh: number;
  pValue: number;
  /** The difference is significant at `alpha` (and both sides had ≥ 2 samples). */
  significant: boolean;
  test: 'welch-t' | 'paired-t' | 'none';
  note?: string;
}

/** Welch's two-sample t-test (unequal variances), two-sided. */
export function compareSamples(a: readonly number[], b: readonly number[], alpha = 0.05): Comparison {
  const ma = mean(a);
  const mb = mean(b);
  const change = ma !== 0 ? (mb - ma) / Math.abs(ma) : NaN;
  if (a.length < 2 || b.length < 2) {
    return {
      change,
      changeLow: NaN,
      changeHigh: NaN,
      pValue: NaN,
      significant: false,
      test: 'none',
      note: 'needs at least 2 runs per side',
    };
  }
  const sa = sampleStandardDeviation(a);
  const sb = sampleStandardDeviation(b);
  if (sa === 0 && sb === 0) {
    // No spread at all: any difference in the means is exact.
    return {
      change,
      changeLow: change,
      changeHigh: change,
      pValue: ma === mb ? 1 : 0,
      significant: ma !== mb,
      test: 'welch-t',
      note: 'zero variance',
    };
  }
  // Tested as b − a, so the interval is that of the change.
  const result = ttest2([...b], [...a], { alpha });
  const [low, high] = result.ci as [number, number];
  const scale = Math.abs(ma);
  return {
    change,
    changeLow: low / scale,
    changeHigh: high / scale,
    pValue: result.pValue,
    significant: result.pValue < alpha,
    test: 'welch-t',
  };
}

/**
 * Paired samples (a[i] and b[i] measured together: one block of an --against session, where the two sides' servers
 * took turns in short windows): Student's t on the log ratios ln(b[i] / a[i]), so the change and its interval are
 * those of the geometric mean ratio. Noise that hits both sides of a pair alike (a neighbour's burst, the host's
 * clock) cancels in the ratio, which two independent samples cannot do. Values must be positive.
 */
export function comparePaired(a: readonly number[], b: readonly number[], alpha = 0.05): Comparison {
  const n = Math.min(a.length, b.length);
  const logs: number[] = [];
  for (let i = 0; i < n; i++) if (a[i]! > 0 && b[i]! > 0) logs.push(Math.log(b[i]! / a[i]!));
  const geometric = (x: number): number => Math.exp(x) - 1;
  if (logs.length < 2) {
    return {
      change: logs.length === 1 ? geometric(logs[0]!) : NaN,
      changeLow: NaN,
      changeHigh: NaN,
      pValue: NaN,
      significant: false,
      test: 'none',
      note: 'needs at least 2 pairs',
    };
  }
  const m = mean(logs);
  if (sampleStandardDeviation(logs) === 0) {
    return {
      change: geometric(m),
      changeLow: geometric(m),
      changeHigh: geometric(m),
      pValue: m === 0 ? 1 : 0,
      significant: m !== 0,
      test: 'paired-t',
      note: 'zero variance',
    };
  }
  const result = ttest(logs, { alpha });
  const [low, high] = result.ci as [number, number];
  return {
    change: geometric(m),
    changeLow: geometric(low),
    changeHigh: geometric(high),
    pValue: result.pValue,
    significant: result.pValue < alpha,
    test: 'paired-t',
  };
}
