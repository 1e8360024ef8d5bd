/**
 * A suite judged once: its cells summarized (the driver's ceiling applied, display order), the verdict with each
 * row's why, the cost model's predictions and the gate's result. Every renderer — terminal, Markdown, HTML, charts,
 * CSV, summary.json — is a pure function of this one value, as autocannon's printResult is of its result object, so
 * no two of them can judge the same records differently. Pure: what it needs from disk (the micro run) comes in
 * through its parameters.
 */
import { summarizeRecords, type CellSummary } from './aggregate.js';
import { applyDriverCeiling } from './driver-ceiling.js';
import { verdict, type VerdictRow } from './verdict.js';
import { explainRow } from './explain.js';
import { pairSpreads, type PairSpread } from './pairing.js';
import { capacityRows, type CapacityRow } from './capacity.js';
import { suiteSpread } from './spread.js';
import { predictSuite, type Prediction } from './cost-model.js';
import type { GateResult } from './gate.js';
import { isCeiling, isOk, splitSides, type Environment, type RunRecord } from '../data/record.js';
import type { MicroRecord } from '../data/micro-record.js';
import type { Workload } from '../data/workloads.js';
import { MODELS } from '../../servers/registry.js';

/** What a suite is judged with: the margin and what the renderers say beside the figures. */
export interface JudgeParams {
  /** The verdict's equivalence margin, a fraction (0.2 = ±20 %). */
  margin: number;
  /** The workloads the suite ran, for their predictions; default: none (no "predicted" line). */
  workloads?: readonly Workload[];
  /** The newest micro run (the cost model's micro-costs), or why there is none. */
  micro?: { records: readonly MicroRecord[]; from: string } | { missing: string };
  /** The regression gate, when the suite had a baseline. */
  gate?: { result: GateResult; thresholdPercent: number; heading: string };
  /** Why the suite stopped early, said under the verdict. */
  stopNote?: string;
}

/** A verdict row with what explains it. */
export interface JudgedRow extends VerdictRow {
  /** The costs behind the outcome: the tie group's and each beaten model's (explain.ts). */
  why?: string;
  /** What the designs predict for this workload. */
  predicted?: string;
  /** With a client-bound row: server CPU µs per message, cheapest first (the servers' cost still tells them apart). */
  cheapest?: { model: string; cpuUsPerMsg: number }[];
}

export interface SuiteJudgement {
  suiteId: string;
  env: Environment;
  /** "separate: server on CPU 0, client on CPU 1; …" from what the records say. */
  split: string;
  /** The runs' warm-up and measured window (the first record that says). */
  window?: { warmupSec: number; durationSec: number };
  /** Every record of the suite, both sides of an --against session. */
  records: readonly RunRecord[];
  /** The cells shown: an --against suite's head side (the code as it is now), in display order, each decided or not. */
  cells: CellSummary[];
  rows: JudgedRow[];
  /** The verdict's model columns: registry order, then ceilings. */
  models: string[];
  margin: number;
  costModel: { predictions: Prediction[]; from: string; micro: MicroRecord } | { missing: string };
  gate?: JudgeParams['gate'];
  stopNote?: string;
  /** Each model's ratio to its row's leader: how much it spread per window pair, per block, and unpaired. */
  pairing: PairSpread[];
  /** --slo: each workload's capacities at the objective, ranked (empty without a capacity search). */
  capacity: CapacityRow[];
}

/** "separate: server on CPU 0, client on CPU 1; shared: …", from what the records say. */
export function splitText(records: readonly RunRecord[]): string {
  const byMode = new Map<string, string>();
  for (const r of records) {
    if (!isOk(r) || byMode.has(r.params.pin)) continue;
    byMode.set(
      r.params.pin,
      r.split?.describe ?? `server on CPU ${r.server.cpus}, client on CPU ${r.clientCpus ?? 'unpinned'}`,
    );
  }
  return [...byMode].map(([mode, d]) => `${mode}: ${d}`).join('; ');
}

/** The models that are references (the native ceiling, the driver's ceilings), not contenders. */
function referencesOf(cells: readonly CellSummary[]): string[] {
  return [
    ...MODELS.filter((m) => m.runtime === 'native').map((m) => m.name),
    ...new Set(cells.map((c) => c.model).filter(isCeiling)),
  ];
}

/** The verdict's model columns: registry order, then ceilings. */
function modelColumns(cells: readonly CellSummary[]): string[] {
  const present = new Set(cells.map((c) => c.model));
  return [
    ...MODELS.map((m) => m.name).filter((m) => present.has(m)),
    ...[...present].filter((m) => !MODELS.some((x) => x.name === m)),
  ];
}

function cheapestFirst(row: VerdictRow, cells: readonly CellSummary[]): { model: string; cpuUsPerMsg: number }[] {
  return cells
    .filter(
      (c) =>
        c.workload === row.workload &&
        c.params.protocol === row.protocol &&
        Number.isFinite(c.serverCpuUsPerMsg) &&
        !isCeiling(c.model),
    )
    .sort((a, b) => a.serverCpuUsPerMsg - b.serverCpuUsPerMsg)
    .map((c) => ({ model: c.model, cpuUsPerMsg: c.serverCpuUsPerMsg }));
}

/** The cost model's predictions for the cells, from a micro run (or why there are none). Pure. */
export function costModelOf(
  cells: readonly CellSummary[],
  micro: JudgeParams['micro'],
  cores: number,
  window?: { warmupSec: number; durationSec: number },
): SuiteJudgement['costModel'] {
  if (!micro || 'missing' in micro) return { missing: micro?.missing ?? 'no micro-benchmark records were given' };
  const first = micro.records[0];
  if (first === undefined) return { missing: `the micro run in ${micro.from} is empty` };
  return {
    predictions: predictSuite(
      cells,
      micro.records,
      cores,
      window ? { warmupSec: window.warmupSec, windowSec: window.durationSec } : {},
    ),
    from: micro.from,
    micro: first,
  };
}

/** Judges a suite's records. */
export function judgeSuite(allRecords: readonly RunRecord[], params: JudgeParams): SuiteJudgement {
  const first = allRecords[0];
  if (!first) throw new Error('a suite with no records cannot be judged');
  // An --against suite's tables and verdict are the head's (what the code measures now); the base is in the gate.
  const records = allRecords.some((r) => r.side !== undefined) ? splitSides(allRecords)[1] : allRecords;
  const summarized = applyDriverCeiling(summarizeRecords(records)).sort(
    (a, b) => Number(isCeiling(a.model)) - Number(isCeiling(b.model)),
  );
  // The same prior the planner judged with: a pair's spread from few blocks is pooled with the suite's typical one.
  const rows = verdict(summarized, {
    references: referencesOf(summarized),
    margin: params.margin,
    spreadPrior: suiteSpread(summarized),
  });
  // A cell is decided when its comparison with its row's leader is.
  const undecided = new Set(
    rows.flatMap((r) =>
      r.cells.filter((c) => c.status === 'undecided').map((c) => `${r.protocol}/${r.workload}/${c.model}`),
    ),
  );
  const cells = summarized.map((c) => ({ ...c, conclusive: c.okRuns >= 2 && !undecided.has(c.key) }));
  const judged: JudgedRow[] = rows.map((row) => {
    const why = explainRow(row, cells);
    const predicted = params.workloads?.find((w) => w.name === row.workload)?.predicts;
    return {
      ...row,
      ...(why ? { why } : {}),
      ...(predicted ? { predicted } : {}),
      ...(row.clientBound ? { cheapest: cheapestFirst(row, cells) } : {}),
    };
  });
  const window = records.find((r) => r.window)?.window;
  const costModel = costModelOf(cells, params.micro, first.env.cores, window);
  return {
    suiteId: first.suiteId,
    env: (records[0] ?? first).env,
    split: splitText(records),
    ...(window ? { window } : {}),
    records: allRecords,
    cells,
    rows: judged,
    models: modelColumns(cells),
    margin: params.margin,
    costModel,
    capacity: capacityRows(records, {
      margin: params.margin,
      references: referencesOf(summarized),
      singleThreaded: MODELS.filter((m) => !m.parallel).map((m) => m.name),
    }),
    pairing: pairSpreads(
      records,
      rows.flatMap((r) => {
        const leader = r.cells.find((c) => c.status === 'winner')?.model;
        return leader ? [{ protocol: r.protocol, workload: r.workload, leader }] : [];
      }),
    ),
    ...(params.gate ? { gate: params.gate } : {}),
    ...(params.stopNote ? { stopNote: params.stopNote } : {}),
  };
}

/**
 * What makes a finished suite a measured failure (exit 1), each in one line: a server that answered wrong bytes, and
 * a cell that verified nothing in any run (its server never started, died, or never answered). Pure.
 */
export function measuredFailures(j: Pick<SuiteJudgement, 'cells'>): string[] {
  const out: string[] = [];
  for (const c of j.cells) {
    if (isCeiling(c.model)) continue;
    if (c.errors.mismatches > 0)
      out.push(`${c.model} answered wrong bytes on ${c.workload}: ${c.errors.mismatches} mismatched message(s)`);
    else if (c.status === 'errored')
      out.push(`nothing verified for ${c.model} on ${c.workload}: ${c.reasons[0] ?? 'every run failed'}`);
    if (c.forcedStops > 0)
      out.push(
        `${c.model} did not stop on SIGTERM in ${c.forcedStops} run(s) of ${c.workload}: killed with its process group`,
      );
  }
  return out;
}
