/**
 * Baseline comparison for the regression gate, in the manner of Node core's compare.js: for every cell present in
 * both suites, Welch's t-test on the per-run throughputs decides whether the change is real, and only a significant
 * drop larger than the threshold is a regression (noise alone never fails the gate).
 *
 * On a shared machine absolute rates drift between runs and differ between machines, so by default each run's
 * throughput is first divided by the same round's throughput of a reference model measured in the same suite (the
 * native epoll ceiling, which no change to the Node code can move). A suite without the reference is compared in
 * absolute msgs/s, and the report says so.
 */
import { cellKey, type RunRecord } from './record.js';
import { compareSamples, mean } from './stats.js';

export type CompareVerdict = 'regression' | 'improvement' | 'same' | 'new' | 'missing';

export interface CompareRow {
  key: string;
  workload: string;
  model: string;
  baseline: number;
  current: number;
  /** (current − baseline) / baseline of the means. */
  change: number;
  pValue: number;
  significant: boolean;
  verdict: CompareVerdict;
}

export interface CompareOptions {
  /** A drop must exceed this fraction (0.10 = 10 %) and be significant to count as a regression. */
  threshold: number;
  alpha: number;
  /** Reference model for normalization; undefined = absolute msgs/s. */
  reference?: string;
}

export interface CompareReport {
  rows: CompareRow[];
  /** How samples were compared: "relative to native-epoll" or "absolute msgs/s". */
  basis: string;
  regressions: CompareRow[];
  /** Cells present in a suite but not comparable, and why (every run client-saturated, no reference run…). */
  dropped: { key: string; reason: string }[];
  /** Rows that were actually compared (present on both sides). */
  compared: number;
}

/**
 * Per-cell samples: msgs/s of ok runs whose client did not saturate, divided by the reference's same-round run when
 * normalizing (the reference is used even when its client saturated: it then measures the round's machine speed,
 * which is what normalizing is for). Cells left with no sample are listed in `dropped` with the reason.
 */
export function cellSamples(
  records: readonly RunRecord[],
  reference: string | undefined,
  dropped: { key: string; reason: string }[] = [],
): Map<string, { workload: string; model: string; samples: number[] }> {
  const ok = records.filter((r) => r.status === 'ok' && r.result);
  const refRate = new Map<string, number>();
  if (reference) {
    for (const r of ok) if (r.model === reference) refRate.set(`${r.params.protocol}/${r.workload}#${r.run}`, r.result!.msgsPerSec);
  }
  const cells = new Map<string, { workload: string; model: string; samples: number[] }>();
  const why = new Map<string, string>();
  for (const r of ok) {
    if (reference && r.model === reference) continue;
    const key = cellKey(r);
    if (r.result!.client.saturated) {
      why.set(key, 'the load client saturated in every run');
      continue;
    }
    let value = r.result!.msgsPerSec;
    if (reference) {
      const ref = refRate.get(`${r.params.protocol}/${r.workload}#${r.run}`);
      if (!ref) {
        why.set(key, `no ${reference} run in the same round to normalize by`);
        continue;
      }
      value /= ref;
    }
    const cell = cells.get(key) ?? { workload: r.workload, model: r.model, samples: [] };
    cell.samples.push(value);
    cells.set(key, cell);
  }
  for (const [key, reason] of why) if (!cells.has(key)) dropped.push({ key, reason });
  return cells;
}

/** The reference both suites measured, if any (native first). */
export function pickReference(baseline: readonly RunRecord[], current: readonly RunRecord[], preferred: readonly string[]): string | undefined {
  const has = (rs: readonly RunRecord[], m: string): boolean => rs.some((r) => r.model === m && r.status === 'ok');
  return preferred.find((m) => has(baseline, m) && has(current, m));
}

export function compareSuites(baseline: readonly RunRecord[], current: readonly RunRecord[], options: CompareOptions): CompareReport {
  const dropped: { key: string; reason: string }[] = [];
  const base = cellSamples(baseline, options.reference, dropped);
  const cur = cellSamples(current, options.reference, dropped);
  const rows: CompareRow[] = [];
  for (const [key, c] of cur) {
    const b = base.get(key);
    if (!b) {
      rows.push({ key, workload: c.workload, model: c.model, baseline: NaN, current: mean(c.samples), change: NaN, pValue: NaN, significant: false, verdict: 'new' });
      continue;
    }
    const test = compareSamples(b.samples, c.samples, options.alpha);
    let verdict: CompareVerdict = 'same';
    if (test.significant && test.change < -options.threshold) verdict = 'regression';
    else if (test.significant && test.change > options.threshold) verdict = 'improvement';
    rows.push({ key, workload: c.workload, model: c.model, baseline: mean(b.samples), current: mean(c.samples), change: test.change, pValue: test.pValue, significant: test.significant, verdict });
  }
  for (const [key, b] of base) {
    if (!cur.has(key)) rows.push({ key, workload: b.workload, model: b.model, baseline: mean(b.samples), current: NaN, change: NaN, pValue: NaN, significant: false, verdict: 'missing' });
  }
  return {
    rows,
    basis: `${options.reference ? `throughput relative to ${options.reference} in the same round` : 'absolute msgs/s'}, means of the runs`,
    regressions: rows.filter((r) => r.verdict === 'regression'),
    dropped,
    compared: rows.filter((r) => r.verdict !== 'new' && r.verdict !== 'missing').length,
  };
}
