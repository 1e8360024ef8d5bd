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
import { compareSamples, median } from './stats.js';

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
}

/** Per-cell samples: msgs/s of ok runs, divided by the reference's same-round run when normalizing. */
export function cellSamples(records: readonly RunRecord[], reference: string | undefined): Map<string, { workload: string; model: string; samples: number[] }> {
  const ok = records.filter((r) => r.status === 'ok' && r.result && !r.result.client.saturated);
  const refRate = new Map<string, number>();
  if (reference) {
    for (const r of ok) if (r.model === reference) refRate.set(`${r.params.protocol}/${r.workload}#${r.run}`, r.result!.msgsPerSec);
  }
  const cells = new Map<string, { workload: string; model: string; samples: number[] }>();
  for (const r of ok) {
    if (reference && r.model === reference) continue;
    let value = r.result!.msgsPerSec;
    if (reference) {
      const ref = refRate.get(`${r.params.protocol}/${r.workload}#${r.run}`);
      if (!ref) continue;
      value /= ref;
    }
    const key = cellKey(r);
    const cell = cells.get(key) ?? { workload: r.workload, model: r.model, samples: [] };
    cell.samples.push(value);
    cells.set(key, cell);
  }
  return cells;
}

/** The reference both suites measured, if any (native first). */
export function pickReference(baseline: readonly RunRecord[], current: readonly RunRecord[], preferred: readonly string[]): string | undefined {
  const has = (rs: readonly RunRecord[], m: string): boolean => rs.some((r) => r.model === m && r.status === 'ok');
  return preferred.find((m) => has(baseline, m) && has(current, m));
}

export function compareSuites(baseline: readonly RunRecord[], current: readonly RunRecord[], options: CompareOptions): CompareReport {
  const base = cellSamples(baseline, options.reference);
  const cur = cellSamples(current, options.reference);
  const rows: CompareRow[] = [];
  for (const [key, c] of cur) {
    const b = base.get(key);
    if (!b) {
      rows.push({ key, workload: c.workload, model: c.model, baseline: NaN, current: median(c.samples), change: NaN, pValue: NaN, significant: false, verdict: 'new' });
      continue;
    }
    const test = compareSamples(b.samples, c.samples, options.alpha);
    let verdict: CompareVerdict = 'same';
    if (test.significant && test.change < -options.threshold) verdict = 'regression';
    else if (test.significant && test.change > options.threshold) verdict = 'improvement';
    rows.push({ key, workload: c.workload, model: c.model, baseline: median(b.samples), current: median(c.samples), change: test.change, pValue: test.pValue, significant: test.significant, verdict });
  }
  for (const [key, b] of base) {
    if (!cur.has(key)) rows.push({ key, workload: b.workload, model: b.model, baseline: median(b.samples), current: NaN, change: NaN, pValue: NaN, significant: false, verdict: 'missing' });
  }
  return {
    rows,
    basis: options.reference ? `throughput relative to ${options.reference} in the same round` : 'absolute msgs/s',
    regressions: rows.filter((r) => r.verdict === 'regression'),
  };
}
