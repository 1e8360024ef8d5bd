/**
 * The regression gate as `npm run bench -- --baseline` and `npm run compare` both run it: pick the reference both
 * suites measured, compare every cell on every metric, and decide pass or fail.
 */
import { MODELS } from '../servers/registry.js';
import { compareSuites, gateFails, pickReference, type CompareReport } from './compare.js';
import type { RunRecord } from './record.js';

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

/** The registry's models whose counts repeat less closely than the default threshold assumes: 1.5 × their spread. */
export const INSTRUCTION_THRESHOLDS: ReadonlyMap<string, number> = new Map(MODELS.flatMap((m) => (m.countsSpread ? [[m.name, 1.5 * m.countsSpread.spread] as const] : [])));

/** What the registry says about each model's counts, as the comparison takes it (the gate's and the planner's). */
export const MODEL_COUNT_RULES = { countsVary: COUNTS_VARY, instructionThresholds: INSTRUCTION_THRESHOLDS } as const;

export function runGate(baseline: readonly RunRecord[], current: readonly RunRecord[], o: GateOptions): GateResult {
  const natives = MODELS.filter((m) => m.runtime === 'native').map((m) => m.name);
  const reference = o.absolute ? undefined : pickReference(baseline, current, natives);
  const report = compareSuites(baseline, current, { threshold: o.thresholdPercent / 100, alpha: o.alpha, ...MODEL_COUNT_RULES, ...(reference ? { reference } : {}) });
  const { fails, why } = gateFails(report, o.allowInconclusive);
  return { report, fails, decision: `${fails ? 'FAIL' : 'PASS'}: ${why}` };
}
