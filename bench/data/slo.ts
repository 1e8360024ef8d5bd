/**
 * A latency objective (--slo p99=10ms): a percentile of the latency measured from each message's intended send time,
 * and the most it may be. Capacity at the objective is the highest offered rate that holds it
 * (bench/judge/capacity.ts).
 */
import { UsageError } from '../../lib/cli-args.js';
import type { LatencySummary } from '../../clients/histogram.js';

export type Percentile = 'p50' | 'p90' | 'p99' | 'p999';

export interface Objective {
  percentile: Percentile;
  /** The most the percentile may be, µs. */
  limitUs: number;
  /** As written for people: "p99 ≤ 10 ms". */
  text: string;
}

const PERCENTILES: Record<string, Percentile> = {
  p50: 'p50',
  median: 'p50',
  p90: 'p90',
  p99: 'p99',
  'p99.9': 'p999',
  p999: 'p999',
};

const UNITS: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };

/** "p99=10ms", "p99.9=250us", "p50=2ms" → the objective. Bad input is a usage error that says what is accepted. */
export function parseObjective(text: string, flag = 'slo'): Objective {
  const m = /^\s*([a-z0-9.]+)\s*(?:=|<=|≤)\s*([0-9]+(?:\.[0-9]+)?)\s*(us|µs|ms|s)\s*$/i.exec(text);
  const percentile = m ? PERCENTILES[m[1]!.toLowerCase()] : undefined;
  if (!m || !percentile)
    throw new UsageError(
      `--${flag} must be a percentile and a latency, e.g. p99=10ms (percentiles ${Object.keys(PERCENTILES).join(', ')}; units us, ms, s) (got "${text}")`,
    );
  const limitUs = Number(m[2]) * UNITS[m[3]!.toLowerCase()]!;
  if (!(limitUs >= 10) || limitUs > 60_000_000)
    throw new UsageError(`--${flag}: the latency must be from 10 µs to 60 s (got "${text}")`);
  return { percentile, limitUs, text: `${percentileName(percentile)} ≤ ${latencyText(limitUs)}` };
}

export function percentileName(p: Percentile): string {
  return p === 'p999' ? 'p99.9' : p;
}

function latencyText(us: number): string {
  if (us >= 1_000_000 && us % 1_000_000 === 0) return `${us / 1_000_000} s`;
  if (us >= 1000) return `${+(us / 1000).toFixed(3)} ms`;
  return `${us} µs`;
}

/** The objective's percentile of a run's latency. */
export function percentileOf(latency: LatencySummary, p: Percentile): number {
  return latency[p];
}
