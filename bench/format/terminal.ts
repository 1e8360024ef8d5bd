/** What `npm run bench` and `npm run report` print: a pure function of the suite's judgement. */
import type { SuiteJudgement } from '../judge/judgement.js';
import { groupByWorkload, workloadTable } from './table.js';
import { verdictReport } from './verdict.js';
import { costModelText } from './cost-model.js';
import { compareTable } from './compare.js';

/** Each workload's table, the CPU split, the verdict, the cost model and the gate. */
export function terminalReport(j: SuiteJudgement, plain: boolean): string {
  const tables = [...groupByWorkload(j.cells)]
    .map(([name, group]) => workloadTable(name, group, j.margin, plain))
    .join('\n\n');
  const gate = j.gate
    ? `\n\n${j.gate.heading}\n${compareTable(j.gate.result.report, j.gate.thresholdPercent, j.gate.result.decision, plain)}`
    : '';
  return `${tables}\n\nCPU split — ${j.split}\n\nVerdict\n${verdictReport(j, plain)}\n\n${costModelText(j, plain)}${gate}\n`;
}
