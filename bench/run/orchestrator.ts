/**
 * Runs a suite in rounds so that drift on a shared machine hits all models alike: in each round every cell that
 * still needs a run gets one, the model order rotated from round to round. With a block runner, a row's models run a
 * round as one block, their servers up together and taking turns (bench/run/run-block.ts); with --against, a cell is
 * a pair (the base's server and the head's) that always runs together, which side goes first alternating.
 *
 * The first `minRuns` rounds run every cell. After that a planner says which cells more runs would help decide (the
 * verdict's undecided comparisons, or the gate's), most promising first, and each round runs those that fit in the
 * time budget, until nothing is undecided, a cell has had `maxRuns` runs, or the budget is spent. A run set aside
 * (the hypervisor or another process took CPU during it) is always made up for. Each record is handed to `onRecord`
 * as soon as it exists, so nothing measured is lost if the suite is interrupted.
 */
import { runCell, type CellContext, type CellSubject } from './run-cell.js';
import type { Workload } from '../data/workloads.js';
import type { RunRecord } from '../data/record.js';
import { timedRuns } from '../judge/aggregate.js';
import { DisturbanceWatch, disturbanceOf, type DisturbedMode } from './disturbance.js';

/** One workload's cells, with the context (CPU split) its runs use. */
export interface WorkloadGroup {
  workload: Workload;
  subjects: CellSubject[];
  /** Measured in the first minRuns rounds only, ahead of the models (the driver's ceiling). */
  leading: CellSubject[];
  ctx: CellContext;
}

export interface Progress {
  record: RunRecord;
  /** Runs done so far, and how many the first minRuns rounds hold in all. */
  done: number;
  planned: number;
  /** true once the mandatory rounds are over and runs are added for undecided comparisons. */
  adaptive: boolean;
  /** Seconds left: the mandatory rounds at the pace so far, or (adaptive) at most the rest of the budget. */
  etaSec: number;
}

export interface SuiteHooks {
  onRecord(record: RunRecord): void;
  onProgress?(p: Progress): void;
  /** Told once when adaptive rounds stop for a reason other than everything being decided. */
  onStop?(why: string): void;
  /** Told once when a disturbance has persisted (bench/run/disturbance.ts), with what it is and what happens now. */
  onDisturbed?(what: string, mode: DisturbedMode): void;
}

export interface RunBudget {
  minRuns: number;
  maxRuns: number;
  /** No adaptive round starts after the suite has run this long. */
  maxSec?: number;
  /** Stops the suite: the current run is cut short and recorded as interrupted. */
  signal?: AbortSignal;
  /** Once a disturbance persists: stop the suite there, or count such runs from then on, marked (default stop). */
  ifDisturbed?: DisturbedMode;
}

/** The runs so far of a subject of a group. */
export type RunsOf = (g: WorkloadGroup, s: CellSubject) => RunRecord[];

/** A cell more runs would help decide, and how promising that is (lower first). */
export interface Want {
  g: WorkloadGroup;
  subject: CellSubject;
  priority: number;
}

/** Says which cells need more runs; [] when everything it judges is decided. `runsLeft`: about how many runs the
 * time budget still affords at the pace so far (undefined without a budget). */
export type Planner = (groups: readonly WorkloadGroup[], runsOf: RunsOf, runsLeft?: number) => Want[];

/** Runs one repetition of a cell and returns its record (runCell; a test may stand in for it). */
export type CellRunner = typeof runCell;

/**
 * Runs subjects together as one block (bench/run/run-block.ts), in the order given, and returns their records in that
 * order: the two sides of a cell (--against), or a row's models taking turns.
 */
export type BlockRunner = (
  members: readonly CellSubject[],
  workload: Workload,
  runs: readonly number[],
  ctx: CellContext,
  round: number,
) => Promise<RunRecord[]>;

/** What runs as a block: the two sides of each cell (--against), or all of a row's models in a round. */
export type Turns = 'sides' | 'models';

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * A group's subjects as the units a round runs: a lone subject, or the two sides of one cell (--against), in the
 * order given; with models taking turns, all of them as one unit. Within a pair the side that goes first alternates
 * with the round.
 */
export function units(subjects: readonly CellSubject[], turns?: Turns): CellSubject[][] {
  if (turns === 'models') return subjects.length > 0 ? [[...subjects]] : [];
  const out: CellSubject[][] = [];
  for (const s of subjects) {
    const pair =
      s.side !== undefined
        ? out.find((u) => u[0]!.name === s.name && u[0]!.side !== undefined && u.length === 1)
        : undefined;
    if (pair) pair.push(s);
    else out.push([s]);
  }
  return out;
}

function ordered(unitList: readonly CellSubject[][], round: number): CellSubject[][] {
  return rotate(unitList, round).map((u) => (u.length > 2 ? rotate(u, round) : round % 2 === 1 ? [...u].reverse() : u));
}

/** Runs in the mandatory rounds (every cell minRuns times, plus the leading subjects). */
export function plannedRuns(groups: readonly WorkloadGroup[], minRuns: number): number {
  return groups.reduce((n, g) => n + minRuns * (g.subjects.length + g.leading.length), 0);
}

/** Set-aside runs are made up for: a cell with fewer counted runs than the minimum (and attempts left) is due. */
function shortOfMinimum(records: readonly RunRecord[], budget: Pick<RunBudget, 'minRuns' | 'maxRuns'>): boolean {
  if (records.length === 0) return true;
  if (records.every((r) => r.status !== 'ok')) return false; // skipped, or failing every time: no more
  return timedRuns(records).length < budget.minRuns && records.length < 2 * budget.maxRuns;
}

export async function runSuite(
  groups: readonly WorkloadGroup[],
  budget: RunBudget,
  hooks: SuiteHooks,
  planner: Planner,
  run: CellRunner = runCell,
  blocks?: { turns: Turns; run: BlockRunner },
): Promise<RunRecord[]> {
  const turns = blocks?.turns;
  const records: RunRecord[] = [];
  const byGroup = new Map<WorkloadGroup, Map<CellSubject, RunRecord[]>>(groups.map((g) => [g, new Map()]));
  const runsOf: RunsOf = (g, s) => byGroup.get(g)?.get(s) ?? [];
  const planned = plannedRuns(groups, budget.minRuns);
  const started = performance.now();
  const elapsedSec = (): number => (performance.now() - started) / 1000;
  let halted = false;
  const aborted = (): boolean => halted || budget.signal?.aborted === true;
  const limits = groups[0]?.ctx.settings;
  const watch = limits && !limits.keepEveryRun ? new DisturbanceWatch(limits) : undefined;
  let measuringOn = false;

  const keep = (g: WorkloadGroup, subject: CellSubject, record: RunRecord, adaptive: boolean): void => {
    const persistent = watch?.see(record);
    if (persistent) {
      const mode = budget.ifDisturbed ?? 'stop';
      hooks.onDisturbed?.(persistent, mode);
      if (mode === 'stop') halted = true;
      else measuringOn = true;
    }
    if (measuringOn && record.status === 'ok' && record.discarded !== undefined) {
      const d = disturbanceOf(record.server.usage, g.ctx.settings);
      if (d) {
        record.disturbed = d.text;
        delete record.discarded;
      }
    }
    records.push(record);
    const mine = byGroup.get(g)!;
    mine.set(subject, [...(mine.get(subject) ?? []), record]);
    hooks.onRecord(record);
    const perRun = elapsedSec() / records.length;
    const etaSec = adaptive
      ? Math.max(0, (budget.maxSec ?? Infinity) - elapsedSec())
      : perRun * Math.max(0, planned - records.length);
    hooks.onProgress?.({ record, done: records.length, planned, adaptive, etaSec });
  };
  // A unit of two or more runs as one block when a block runner is given; anything else one subject at a time.
  const runUnit = async (
    g: WorkloadGroup,
    unit: readonly CellSubject[],
    round: number,
    adaptive: boolean,
  ): Promise<void> => {
    if (blocks && unit.length >= 2) {
      const got = await blocks.run(
        unit,
        g.workload,
        unit.map((s) => runsOf(g, s).length),
        g.ctx,
        round,
      );
      for (const [i, s] of unit.entries()) keep(g, s, got[i]!, adaptive);
      return;
    }
    for (const subject of unit) {
      if (aborted()) return;
      keep(g, subject, await run(subject, g.workload, runsOf(g, subject).length, g.ctx, round), adaptive);
    }
  };

  let round = 0;
  for (; round < budget.minRuns && !aborted(); round++) {
    for (const g of groups) {
      for (const unit of [...g.leading.map((s) => [s]), ...ordered(units(g.subjects, turns), round)]) {
        if (aborted()) break;
        await runUnit(g, unit, round, false);
      }
    }
  }

  for (; !aborted(); round++) {
    const wanted = new Map<CellSubject, number>();
    for (const g of groups) for (const s of g.subjects) if (shortOfMinimum(runsOf(g, s), budget)) wanted.set(s, -1);
    const pace = records.length > 0 ? elapsedSec() / records.length : 0;
    const runsLeft =
      budget.maxSec !== undefined
        ? Math.max(0, Math.floor((budget.maxSec - elapsedSec()) / Math.max(pace, 0.001)))
        : undefined;
    for (const w of planner(groups, runsOf, runsLeft)) {
      if (timedRuns(runsOf(w.g, w.subject)).length >= budget.maxRuns) continue;
      wanted.set(w.subject, Math.min(wanted.get(w.subject) ?? Infinity, w.priority));
    }
    if (wanted.size === 0) return records;
    const fits = runsLeft ?? wanted.size;
    if (fits <= 0) {
      hooks.onStop?.(
        `the time budget (${budget.maxSec} s) is spent with ${wanted.size} cell(s) still wanted for undecided comparisons`,
      );
      return records;
    }
    // The most promising first (the planner's priority: fewest runs to a decision), so a budget that runs out cuts
    // the comparisons least likely to be decided anyway.
    const chosen = new Set(
      [...wanted]
        .sort((a, b) => a[1] - b[1])
        .slice(0, fits)
        .map(([s]) => s),
    );
    // Both sides of a cell run together (--against): a comparison is only as good as its weaker side.
    if (turns !== 'models')
      for (const g of groups)
        for (const u of units(g.subjects)) if (u.some((s) => chosen.has(s))) for (const s of u) chosen.add(s);
    for (const g of groups) {
      const mine = units(g.subjects, turns)
        .map((u) => u.filter((s) => chosen.has(s)))
        .filter((u) => u.length > 0);
      for (const unit of ordered(mine, round)) {
        if (aborted()) break;
        await runUnit(g, unit, round, true);
      }
    }
  }
  return records;
}

/** Rough seconds of the mandatory rounds: per run, warmup + duration + ~0.8 s to start and stop processes. */
export function estimateSeconds(runs: number, warmupSec: number, durationSec: number): number {
  return runs * (warmupSec + durationSec + 0.8);
}
