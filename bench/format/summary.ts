/**
 * summary.json: the suite's judgement as data, for scripts — the verdict first (who won each workload, at what
 * margin, on what measure, and every model's place), then the cells' figures. Its fields are described once, here
 * (SUMMARY_FIELDS), and docs/reference.md lists them (npm run docs). Pure.
 */
import type { SuiteJudgement, JudgedRow } from '../judge/judgement.js';
import type { VerdictCell, VerdictStatus } from '../judge/verdict.js';
import type { CapacityStatus } from '../judge/capacity.js';

/** The version of summary.json's layout; a script can refuse one it does not know. */
export const SUMMARY_SCHEMA = 2;

/** A model's place in a row, in one word a script can switch on. */
export type ModelClass = 'winner' | 'tied' | 'beaten' | 'behind' | 'undecided' | 'not-ranked';

const CLASS: Readonly<Record<VerdictStatus, ModelClass>> = {
  winner: 'winner',
  tie: 'tied',
  beaten: 'beaten',
  behind: 'behind',
  undecided: 'undecided',
  'missed-rate': 'beaten',
  saturated: 'not-ranked',
  errored: 'not-ranked',
  skipped: 'not-ranked',
  interrupted: 'not-ranked',
  invalid: 'not-ranked',
  ceiling: 'not-ranked',
  unmeasured: 'not-ranked',
};

/** Each field of summary.json's verdict, with what it means (docs/reference.md). */
export const SUMMARY_FIELDS: readonly { field: string; describe: string }[] = [
  { field: 'schema', describe: `the layout's version (${SUMMARY_SCHEMA}); a script should check it` },
  { field: 'margin', describe: 'the equivalence margin the suite was judged at, a fraction (0.2 = ±20 %)' },
  { field: 'verdict[]', describe: 'one entry per workload, in the order the suite ran them' },
  { field: 'verdict[].workload, .protocol', describe: "the row: the workload's name and its protocol" },
  {
    field: 'verdict[].decidedBy',
    describe:
      '{ metric, label }: the measure that ranks the row (throughput, or the p99 at the held rate for open-loop rows)',
  },
  {
    field: 'verdict[].status',
    describe:
      'decided (every model placed against the leader), undecided (some comparison is still open: see .undecided), client-bound (the load client, not the servers, set the pace) or nothing-ranked',
  },
  {
    field: 'verdict[].winners',
    describe: 'the winner and the models tied with it (empty unless decided); one name: a single winner',
  },
  {
    field: 'verdict[].achieved',
    describe: 'a decided tie: the widest end of its 90 % intervals, the margin the data supports',
  },
  {
    field: 'verdict[].decidedAt',
    describe: 'decided at this narrower margin, where an interval straddled the asked one',
  },
  { field: 'verdict[].undecided', describe: 'why no winner is named yet, with the runs it would take' },
  {
    field: 'verdict[].why, .predicted',
    describe: "the costs behind the outcome, and what the designs predict (the printed verdict's lines)",
  },
  {
    field: 'verdict[].models[]',
    describe: 'every model of the row: { model, class, status, relative, interval, runsNeeded }',
  },
  {
    field: 'verdict[].models[].class',
    describe:
      'winner, tied (within ±margin of the leader), beaten (worse by more than the margin), behind (provably slower, by about the margin), undecided, or not-ranked (the ceiling, a client-bound, failed or unverified row: see .status)',
  },
  {
    field: 'verdict[].models[].relative',
    describe: "its deciding measure relative to the leader's, as performance: 1 the leader, 0.5 half as good",
  },
  {
    field: 'verdict[].models[].interval',
    describe:
      'the 90 % interval of its difference from the leader, [low, high] as fractions (positive: better); null where not compared',
  },
  {
    field: 'capacity[]',
    describe:
      "with --slo: per workload { workload, protocol, objective, winners, decided, models[] }; each model { model, class, status, held, failed, undecided, range, driverBound, relative, ranOut, note, steps[] { rate, verdict, why, runs, latency } }: held the highest rate shown to hold the objective with none shown not to below it, failed the lowest shown not to with none held or met in some runs above it, undecided [lowest, highest] rates between them still undecided after all their runs or whose verdicts disagree (or null), range [low, high] the capacity with the machine's drift (held and failed widened by drift.factor; null where not measured), msgs/s. A searched workload's drift { model, first, again, factor }: the reference's [held, failed] in its search and when searched again after every model's, and how far it moved, again ÷ first, as [low, high] (null without both ends); places are judged on held and failed, within one search. A workload open loop already has `rate`, its own: the objective checked there, each model's status holds, fails, undecided, driver-bound (the driver could not offer it) or ceiling",
  },
  {
    field: 'cells[]',
    describe:
      "every cell's figures (the tables' and more): throughput interval, latency percentiles, CPU and counts per message, errors",
  },
];

function rowStatus(row: JudgedRow): 'decided' | 'undecided' | 'client-bound' | 'nothing-ranked' {
  if (row.decided) return 'decided';
  if (row.clientBound) return 'client-bound';
  return row.undecided ? 'undecided' : 'nothing-ranked';
}

function modelEntry(c: VerdictCell) {
  return {
    model: c.model,
    class: CLASS[c.status],
    status: c.status,
    relative: c.relative ?? null,
    interval: c.interval ?? null,
    ...(c.runsNeeded !== undefined ? { runsNeeded: c.runsNeeded } : {}),
  };
}

/** The verdict as data (summary.json's `verdict`). */
export function verdictData(j: Pick<SuiteJudgement, 'rows'>) {
  return j.rows.map((row) => ({
    workload: row.workload,
    protocol: row.protocol,
    decidedBy: { metric: row.decider.metric, label: row.decider.label },
    margin: row.margin,
    status: rowStatus(row),
    winners: row.winners,
    ...(row.achieved !== undefined ? { achieved: row.achieved } : {}),
    ...(row.decidedAt !== undefined ? { decidedAt: row.decidedAt } : {}),
    ...(row.undecided ? { undecided: row.undecided } : {}),
    ...(row.why ? { why: row.why } : {}),
    ...(row.predicted ? { predicted: row.predicted } : {}),
    models: row.cells.map(modelEntry),
  }));
}

/** The capacities as data (summary.json's `capacity`). */
export function capacityData(j: Pick<SuiteJudgement, 'capacity'>) {
  const classOf: Record<CapacityStatus, ModelClass> = {
    winner: 'winner',
    tie: 'tied',
    beaten: 'beaten',
    behind: 'behind',
    undecided: 'undecided',
    'driver-bound': 'not-ranked',
    none: 'not-ranked',
    ceiling: 'not-ranked',
    holds: 'not-ranked',
    fails: 'not-ranked',
  };
  return j.capacity.map((row) => ({
    workload: row.workload,
    protocol: row.protocol,
    objective: row.objective,
    ...(row.rate !== undefined ? { rate: row.rate } : {}),
    ...(row.drift
      ? {
          drift: {
            model: row.drift.model,
            first: [row.drift.first.held ?? null, row.drift.first.failed ?? null],
            again: [row.drift.again.held ?? null, row.drift.again.failed ?? null],
            factor: row.drift.factor ?? null,
          },
        }
      : {}),
    winners: row.winners,
    decided: row.decided,
    models: row.cells.map((c) => ({
      model: c.model,
      class: classOf[c.status],
      status: c.status,
      held: c.result.held ?? null,
      failed: c.result.failed ?? null,
      undecided: c.result.undecided ?? null,
      range: c.result.range ? [c.result.range.low, c.result.range.high ?? null] : null,
      driverBound: c.result.driverBound,
      relative: c.relative ?? null,
      ...(c.ranOut ? { ranOut: c.ranOut } : {}),
      ...(c.result.note ? { note: c.result.note } : {}),
      steps: c.steps.map((s) => ({
        rate: s.rate,
        verdict: s.verdict,
        why: s.why,
        runs: s.runs.length + s.errored.length,
        latency: s.latency,
      })),
    })),
  }));
}

export function summaryJson(j: SuiteJudgement): string {
  return `${JSON.stringify({ schema: SUMMARY_SCHEMA, suiteId: j.suiteId, env: j.env, split: j.split, margin: j.margin, verdict: verdictData(j), ...(j.capacity.length > 0 ? { capacity: capacityData(j) } : {}), cells: j.cells }, null, 2)}\n`;
}
