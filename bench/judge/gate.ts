/**
 * The regression gate as `npm run bench -- --baseline` and `npm run compare` both run it: pick the reference both
 * suites measured, compare every cell on every metric, and decide pass or fail.
 */
import { MODELS } from '../../servers/registry.js';
import { COUNT_SPREADS, COUNTS_VARY_MEASURED, type CountSpread } from '../data/count-spreads.js';
import { METRICS } from '../data/metrics.js';
import { compareSuites, gateFails, pickReference, type CompareReport } from './compare.js';
import type { RunRecord } from '../data/record.js';

export interface GateOptions {
  thresholdPercent: number;
  alpha: number;
  /** Compare throughput in absolute msgs/s instead of relative to the native reference. */
  absolute?: boolean;
  allowInconclusive: boolean;
}

export interface GateResult {
  report: CompareReport;
  fails: boolean;
  /** One line: "PASS: …" or "FAIL: …". */
  decision: string;
}

/** The models whose instruction counts do not repeat between processes, with why (data/count-spreads.ts). */
export const COUNTS_VARY: ReadonlyMap<string, string> = new Map(
  COUNTS_VARY_MEASURED.map((v) => [v.model, v.why] as const),
);

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** How the gate treats a model's instruction counts, in words (docs/reference.md's models table). */
export function countRuleText(model: string): string {
  const varies = COUNTS_VARY.get(model);
  if (varies) return `vary (${varies}): not gated`;
  const spreads = COUNT_SPREADS.filter((s) => s.model === model);
  const fallback = `gated at ${pct(INSTRUCTION_THRESHOLDS.get(model) ?? METRICS.instructionsPerMsg.threshold!.relative)}`;
  if (spreads.length === 0) return `repeat: ${fallback}`;
  return `${spreads.map((s) => `${s.workload}: ${s.measured} (spread ${pct(s.spread)}; ${s.at.machine}, ${s.at.date}), gated at ${pct(INSTRUCTION_THRESHOLDS.get(`${model}/${s.workload}`)!)}`).join('; ')}; other workloads ${fallback}`;
}

/** Measured count spreads as instruction thresholds: 1.5 × the spread, at least the metric's own. Pure. */
export function instructionThresholds(
  spreads: readonly Pick<CountSpread, 'model' | 'workload' | 'spread'>[],
): ReadonlyMap<string, number> {
  const floor = METRICS.instructionsPerMsg.threshold!.relative;
  const threshold = (spread: number): number => Math.max(floor, 1.5 * spread);
  const out = new Map<string, number>();
  for (const model of new Set(spreads.map((s) => s.model))) {
    const mine = spreads.filter((s) => s.model === model);
    // The model's own key: its widest measured spread, for a workload nobody measured.
    out.set(model, threshold(Math.max(...mine.map((s) => s.spread))));
    for (const s of mine) out.set(`${model}/${s.workload}`, threshold(s.spread));
  }
  return out;
}

/** The measured thresholds. */
export const INSTRUCTION_THRESHOLDS = instructionThresholds(COUNT_SPREADS);

/** What the measurements say about each model's counts, as the comparison takes it (the gate's and the planner's). */
export const MODEL_COUNT_RULES = { countsVary: COUNTS_VARY, instructionThresholds: INSTRUCTION_THRESHOLDS } as const;

export function runGate(baseline: readonly RunRecord[], current: readonly RunRecord[], o: GateOptions): GateResult {
  const natives = MODELS.filter((m) => m.runtime === 'native').map((m) => m.name);
  const reference = o.absolute ? undefined : pickReference(baseline, current, natives);
  const report = compareSuites(baseline, current, {
    threshold: o.thresholdPercent / 100,
    alpha: o.alpha,
    ...MODEL_COUNT_RULES,
    ...(reference ? { reference } : {}),
  });
  const { fails, why } = gateFails(report, o.allowInconclusive);
  return { report, fails, decision: `${fails ? 'FAIL' : 'PASS'}: ${why}` };
}
