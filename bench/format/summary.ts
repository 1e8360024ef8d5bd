/** summary.json: the suite's judgement as data, for scripts. Pure. */
import type { SuiteJudgement } from '../judge/judgement.js';

export function summaryJson(j: SuiteJudgement): string {
  return JSON.stringify({ suiteId: j.suiteId, env: j.env, split: j.split, cells: j.cells }, null, 2) + '\n';
}
