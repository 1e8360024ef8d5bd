/** µs latency histograms (HdrHistogram). Percentiles are read from histograms, and merged, never averaged. */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** 1 µs to 10 minutes at 3 significant digits: wide enough that no real latency is clamped. */
export function latencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: Math.round(h.mean),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}

/** One point of a percentile distribution: `percentile` in 0..100, the latency at it in µs. */
export interface PercentilePoint {
  percentile: number;
  us: number;
}

/** Deepest percentile a curve goes to: 99.9999 % (1/(1−p) = 10⁶). */
const CURVE_MAX_X = 1e6;

/**
 * The percentile distribution as HdrHistogram plotters draw it: points evenly spaced on a log scale of 1/(1−p)
 * (p = 0, 90 %, 99 %, 99.9 % … are equally far apart), from p = 0 to as deep as the sample count supports
 * (1/(1−p) ≤ count), ending with the maximum there.
 */
export function percentileCurve(h: Histogram, pointsPerDecade = 10): PercentilePoint[] {
  const count = h.totalCount;
  if (count === 0) return [];
  const deepest = Math.min(count, CURVE_MAX_X);
  const points: PercentilePoint[] = [];
  for (let k = 0; ; k++) {
    const x = 10 ** (k / pointsPerDecade);
    if (x >= deepest) break;
    const percentile = 100 * (1 - 1 / x);
    points.push({ percentile, us: h.getValueAtPercentile(percentile) });
  }
  // The curve ends where the samples end, 1/(1−p) = count, with the maximum (or at the 99.9999 % cap).
  const end = 100 * (1 - 1 / deepest);
  points.push({ percentile: end, us: deepest === count ? h.maxValue : h.getValueAtPercentile(end) });
  return points;
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}

/** One histogram holding every sample of the given ones (for percentiles across repeated runs). */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const merged = latencyHistogram();
  for (const e of encoded) merged.add(decodeHistogram(e));
  return merged;
}

/** Records a latency given in ms (performance.now() differences) as whole µs, at least 1. */
export function recordMillis(h: Histogram, millis: number): void {
  const micros = Math.round(millis * 1000);
  h.recordValue(micros < 1 ? 1 : Math.min(micros, 600_000_000));
}
