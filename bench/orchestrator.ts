/**
 * Runs a suite in rounds so that drift on a shared machine hits all models alike: in each round every cell that
 * still needs a run gets one, back to back, the model order rotated from round to round.
 *
 * The first `minRuns` rounds run every cell. After that a round holds only the cells whose 95 % interval (of
 * throughput and of server CPU µs per message) is still wider than the target, or whose runs were set aside (the
 * hypervisor stole too much CPU during them), until each is tight, has had `maxRuns` runs, or the suite's time
 * budget is spent; a cell left wide is judged inconclusive downstream. Each record is handed to `onRecord` as soon
 * as it exists, so nothing measured is lost if the suite is interrupted.
 */
import { runCell, type CellContext, type CellSubject } from './run-cell.js';
import type { Workload } from './workloads.js';
import { cellKey, type RunRecord } from './record.js';
import { summarizeCell } from './aggregate.js';

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
  /** true once the mandatory rounds are over and runs are added for wide intervals. */
  adaptive: boolean;
  /** Seconds left: the mandatory rounds at the pace so far, or (adaptive) at most the rest of the budget. */
  etaSec: number;
}

export interface SuiteHooks {
  onRecord(record: RunRecord): void;
  onProgress?(p: Progress): void;
  /** Told once when adaptive rounds stop for a reason other than every interval being tight. */
  onStop?(why: string): void;
}

export interface RunBudget {
  minRuns: number;
  maxRuns: number;
  targetCiPercent: number;
  /** No adaptive round starts after the suite has run this long. */
  maxSec?: number;
  /** Stops the suite: the current run is cut short and recorded as interrupted. */
  signal?: AbortSignal;
}

/** A cell's state after its runs so far: does it need another? */
export function needsMore(records: readonly RunRecord[], budget: Pick<RunBudget, 'minRuns' | 'maxRuns' | 'targetCiPercent'>): { more: boolean; margin: number } {
  const counted = records.filter((r) => r.status === 'ok' && !r.discarded);
  if (records.length === 0) return { more: true, margin: Infinity };
  // A cell that never ran ok (skipped, failing every time) gets no extra runs; set-aside runs are made up for.
  if (records.every((r) => r.status !== 'ok')) return { more: false, margin: NaN };
  if (counted.length >= budget.maxRuns || records.length >= 2 * budget.maxRuns) return { more: false, margin: NaN };
  if (counted.length < budget.minRuns) return { more: true, margin: Infinity };
  const c = summarizeCell(counted);
  const margins = [c.throughput.relativeMargin, c.serverCpuInterval.relativeMargin].filter((m) => !Number.isNaN(m));
  const margin = margins.length > 0 ? Math.max(...margins) : Infinity;
  return { more: !(margin * 100 <= budget.targetCiPercent), margin };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Runs in the mandatory rounds (every cell minRuns times, plus the leading subjects). */
export function plannedRuns(groups: readonly WorkloadGroup[], minRuns: number): number {
  return groups.reduce((n, g) => n + minRuns * (g.subjects.length + g.leading.length), 0);
}

/** Runs one repetition of a cell and returns its record (runCell; a test may stand in for it). */
export type CellRunner = typeof runCell;

export async function runSuite(groups: readonly WorkloadGroup[], budget: RunBudget, hooks: SuiteHooks, run: CellRunner = runCell): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const byCell = new Map<string, RunRecord[]>();
  const runsOf = (g: WorkloadGroup, s: CellSubject): RunRecord[] => byCell.get(`${g.workload.protocol}/${g.workload.name}/${s.name}`) ?? [];
  const planned = plannedRuns(groups, budget.minRuns);
  const started = performance.now();
  const elapsedSec = (): number => (performance.now() - started) / 1000;
  const aborted = (): boolean => budget.signal?.aborted === true;

  const runOne = async (g: WorkloadGroup, subject: CellSubject, round: number, adaptive: boolean): Promise<void> => {
    const record = await run(subject, g.workload, runsOf(g, subject).length, g.ctx, round);
    records.push(record);
    const key = cellKey(record);
    byCell.set(key, [...(byCell.get(key) ?? []), record]);
    hooks.onRecord(record);
    const perRun = elapsedSec() / records.length;
    const etaSec = adaptive
      ? Math.max(0, (budget.maxSec ?? Infinity) - elapsedSec())
      : perRun * Math.max(0, planned - records.length);
    hooks.onProgress?.({ record, done: records.length, planned, adaptive, etaSec });
  };

  let round = 0;
  for (; round < budget.minRuns && !aborted(); round++) {
    for (const g of groups) {
      for (const subject of [...g.leading, ...rotate(g.subjects, round)]) {
        if (aborted()) break;
        await runOne(g, subject, round, false);
      }
    }
  }

  for (; !aborted(); round++) {
    const due: Due[] = [];
    for (const g of groups) {
      const contending = contenders(g, runsOf);
      g.subjects.forEach((subject) => {
        const state = needsMore(runsOf(g, subject), budget);
        if (state.more) due.push({ g, subject, margin: state.margin, mayWin: contending.has(subject) });
      });
    }
    if (due.length === 0) return records;
    const perRun = records.length > 0 ? elapsedSec() / records.length : 0;
    let fits = due.length;
    if (budget.maxSec !== undefined) fits = Math.floor((budget.maxSec - elapsedSec()) / Math.max(perRun, 0.001));
    if (fits <= 0) {
      hooks.onStop?.(`the time budget (${budget.maxSec} s) is spent; ${due.length} cell(s) are still wider than ±${budget.targetCiPercent}%`);
      return records;
    }
    // The runs that can change a verdict first (a cell that may be the row's winner), widest first: a budget that
    // runs out then cuts the least useful runs, not the ones deciding who wins.
    const chosen = new Set([...due].sort((a, b) => Number(b.mayWin) - Number(a.mayWin) || b.margin - a.margin).slice(0, fits));
    for (const g of groups) {
      const mine = due.filter((d) => d.g === g && chosen.has(d));
      const order = rotate(mine, round); // rotation among this round's cells, as in the mandatory rounds
      for (const d of order) {
        if (aborted()) break;
        await runOne(g, d.subject, round, true);
      }
    }
  }
  return records;
}

interface Due {
  g: WorkloadGroup;
  subject: CellSubject;
  margin: number;
  /** Its interval reaches the leading contender's: more runs may change the row's winner. */
  mayWin: boolean;
}

/**
 * The contenders of a workload (not references, client not saturated) whose throughput interval reaches the
 * leader's, the leader included: the cells a verdict depends on.
 */
export function contenders(g: WorkloadGroup, runsOf: (g: WorkloadGroup, s: CellSubject) => RunRecord[]): Set<CellSubject> {
  const cells = g.subjects
    .filter((s) => !s.reference)
    .map((s) => ({ s, c: countedOf(runsOf(g, s)) }))
    .filter((x): x is { s: CellSubject; c: ReturnType<typeof summarizeCell> } => x.c !== undefined && !x.c.clientSaturated);
  const leader = cells.reduce<(typeof cells)[number] | undefined>((b, x) => (!b || x.c.throughput.median > b.c.throughput.median ? x : b), undefined);
  if (!leader) return new Set();
  const low = Number.isFinite(leader.c.throughput.low) ? leader.c.throughput.low : leader.c.throughput.median;
  return new Set(cells.filter((x) => (Number.isFinite(x.c.throughput.high) ? x.c.throughput.high : x.c.throughput.median) >= low).map((x) => x.s));
}

function countedOf(records: readonly RunRecord[]): ReturnType<typeof summarizeCell> | undefined {
  const counted = records.filter((r) => r.status === 'ok' && !r.discarded);
  return counted.length > 0 ? summarizeCell(counted) : undefined;
}

/** Rough seconds of the mandatory rounds: per run, warmup + duration + ~0.8 s to start and stop processes. */
export function estimateSeconds(runs: number, warmupSec: number, durationSec: number): number {
  return runs * (warmupSec + durationSec + 0.8);
}
