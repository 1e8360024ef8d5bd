/**
 * Runs a plan: every cell R times, interleaved (for each workload, run 1 of every model, then run 2 …, the model
 * order rotated each round) so that drift on a shared machine hits all models alike. Each record is handed to
 * `onRecord` as soon as it exists, so nothing measured is lost if the suite is interrupted.
 */
import type { Plan } from './matrix.js';
import { modelSubject, runCell, type CellContext, type CellSubject } from './run-cell.js';
import type { Workload } from './workloads.js';
import type { RunRecord } from './record.js';

export interface Progress {
  done: number;
  total: number;
  record: RunRecord;
  /** Seconds left, estimated from the cells so far. */
  etaSec: number;
}

export interface SuiteHooks {
  onRecord(record: RunRecord): void;
  onProgress?(p: Progress): void;
  /** Checked between cells: true stops the suite early (Ctrl-C). */
  shouldStop?(): boolean;
}

export interface ScheduledRun {
  subject: CellSubject;
  workload: Workload;
  run: number;
}

/**
 * Every cell `runs` times, round by round within a workload, the model order rotated each round. Extra subjects per
 * workload (the driver's ceiling) open every round.
 */
export function orderRuns(plan: Plan, runs: number, extra: (w: Workload) => CellSubject[] = () => []): ScheduledRun[] {
  const order: ScheduledRun[] = [];
  for (const workload of plan.workloads) {
    const subjects = plan.cells.filter((c) => c.workload === workload).map((c) => modelSubject(c.model));
    const leading = extra(workload);
    for (let run = 0; run < runs; run++) {
      for (const subject of leading) order.push({ subject, workload, run });
      for (let i = 0; i < subjects.length; i++) order.push({ subject: subjects[(i + run) % subjects.length]!, workload, run });
    }
  }
  return order;
}

export async function runSuite(order: readonly ScheduledRun[], ctx: CellContext, hooks: SuiteHooks): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const started = performance.now();
  for (const [i, { subject, workload, run }] of order.entries()) {
    if (hooks.shouldStop?.()) break;
    const record = await runCell(subject, workload, run, ctx);
    records.push(record);
    hooks.onRecord(record);
    const elapsed = (performance.now() - started) / 1000;
    hooks.onProgress?.({ done: i + 1, total: order.length, record, etaSec: (elapsed / (i + 1)) * (order.length - i - 1) });
  }
  return records;
}

/** Rough seconds a schedule takes: per run, warmup + duration + ~1 s to start and stop processes. */
export function estimateSeconds(scheduled: number, warmupSec: number, durationSec: number): number {
  return scheduled * (warmupSec + durationSec + 1);
}
