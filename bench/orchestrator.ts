/**
 * Runs a plan: every cell R times, interleaved (for each workload, run 1 of every model, then run 2 …, the model
 * order rotated each round) so that drift on a shared machine hits all models alike. Each record is handed to
 * `onRecord` as soon as it exists, so nothing measured is lost if the suite is interrupted.
 */
import type { Plan } from './matrix.js';
import { runCell, type CellContext } from './run-cell.js';
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

export function orderRuns(plan: Plan, runs: number): { cell: Plan['cells'][number]; run: number }[] {
  const order: { cell: Plan['cells'][number]; run: number }[] = [];
  for (const workload of plan.workloads) {
    const cells = plan.cells.filter((c) => c.workload === workload);
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < cells.length; i++) order.push({ cell: cells[(i + run) % cells.length]!, run });
    }
  }
  return order;
}

export async function runSuite(plan: Plan, runs: number, ctx: CellContext, hooks: SuiteHooks): Promise<RunRecord[]> {
  const order = orderRuns(plan, runs);
  const records: RunRecord[] = [];
  const started = performance.now();
  for (const [i, { cell, run }] of order.entries()) {
    if (hooks.shouldStop?.()) break;
    const record = await runCell(cell.model, cell.workload, run, ctx);
    records.push(record);
    hooks.onRecord(record);
    const elapsed = (performance.now() - started) / 1000;
    hooks.onProgress?.({ done: i + 1, total: order.length, record, etaSec: (elapsed / (i + 1)) * (order.length - i - 1) });
  }
  return records;
}

/** Rough seconds a plan takes: per cell, warmup + duration + ~1 s to start and stop processes. */
export function estimateSeconds(plan: Plan, runs: number, warmupSec: number, durationSec: number): number {
  return plan.cells.length * runs * (warmupSec + durationSec + 1);
}
