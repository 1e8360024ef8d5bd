/**
 * The regression gate as `npm run bench -- --baseline` and `npm run compare` both run it: pick the reference both
 * suites measured, compare every cell on every metric, and decide pass or fail.
 */
import { MODELS, type Model } from '../../servers/registry.js';
import { COUNT_THRESHOLDS, compareSuites, gateFails, pickReference, type CompareReport } from './compare.js';
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

/** The registry's models whose instruction counts do not repeat between processes, with why. */
export const COUNTS_VARY: ReadonlyMap<string, string> = new Map(MODELS.flatMap((m) => (m.countsVary ? [[m.name, m.countsVary] as const] : [])));

/** How the gate treats a model's instruction counts, in words (docs/reference.md's models table). */
export function countRuleText(model: string): string {
  const m = MODELS.find((x) => x.name === model);
  if (m?.countsVary) return `vary (${m.countsVary}): not gated`;
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const spreads = Object.entries(m?.countsSpread ?? {});
  const fallback = `gated at ${pct(INSTRUCTION_THRESHOLDS.get(model) ?? COUNT_THRESHOLDS.instructionsPerMsg!.relative)}`;
  if (spreads.length === 0) return `repeat: ${fallback}`;
  return `${spreads.map(([w, s]) => `${w}: ${s.measured} (spread ${pct(s.spread)}), gated at ${pct(INSTRUCTION_THRESHOLDS.get(`${model}/${w}`)!)}`).join('; ')}; other workloads ${fallback}`;
}

/** Measured count spreads as instruction thresholds: 1.5 × the spread, at least the default. Pure. */
export function instructionThresholds(models: readonly Pick<Model, 'name' | 'countsSpread'>[]): ReadonlyMap<string, number> {
  return new Map(models.flatMap((m) => {
    const spreads = Object.entries(m.countsSpread ?? {});
    if (spreads.length === 0) return [];
    const threshold = (spread: number): number => Math.max(COUNT_THRESHOLDS.instructionsPerMsg!.relative, 1.5 * spread);
    // The model's own key: its widest measured spread, for a workload nobody measured.
    return [[m.name, threshold(Math.max(...spreads.map(([, s]) => s.spread)))] as const, ...spreads.map(([w, s]) => [`${m.name}/${w}`, threshold(s.spread)] as const)];
  }));
}

/** The registry's thresholds. */
export const INSTRUCTION_THRESHOLDS = instructionThresholds(MODELS);

/** What the registry says about each model's counts, as the comparison takes it (the gate's and the planner's). */
export const MODEL_COUNT_RULES = { countsVary: COUNTS_VARY, instructionThresholds: INSTRUCTION_THRESHOLDS } as const;

export function runGate(baseline: readonly RunRecord[], current: readonly RunRecord[], o: GateOptions): GateResult {
  const natives = MODELS.filter((m) => m.runtime === 'native').map((m) => m.name);
  const reference = o.absolute ? undefined : pickReference(baseline, current, natives);
  const report = compareSuites(baseline, current, { threshold: o.thresholdPercent / 100, alpha: o.alpha, ...MODEL_COUNT_RULES, ...(reference ? { reference } : {}) });
  const { fails, why } = gateFails(report, o.allowInconclusive);
  return { report, fails, decision: `${fails ? 'FAIL' : 'PASS'}: ${why}` };
}
