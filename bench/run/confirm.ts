/**
 * The counts gate's confirmation (--against with --counts): a cell whose counts changed beyond their threshold with
 * one process a side is counted again, in fresh processes on both sides, until each side has CONFIRM_PROCESSES, and
 * the gate then judges the medians. A real change moves every process of the changed side; a process that settled at
 * a level of its own does not recur in the next two. Measured in A/A `bench:ci` sessions (identical code both
 * sides): one event-loop echo process of 16 counted 14.2k against 13.7k in all 8 windows, the same 2.01 syscalls per
 * message, and failed the session against its then 2 % threshold (docs/counts.md).
 */
import { runGate } from '../judge/gate.js';
import type { CountJob } from './counts.js';
import { instructionRuns } from '../judge/aggregate.js';
import { splitSides, type RunRecord } from '../data/record.js';
import type { WorkloadGroup } from './orchestrator.js';
import { DEFAULTS } from '../../lib/defaults.js';

/** Counted processes a side once a cell's first pair differed beyond its threshold. */
export const CONFIRM_PROCESSES = 3;

/** `workload/model` of the cells whose counted rows changed beyond their threshold, with fewer processes a side than a confirmation has. */
export function cellsToConfirm(records: readonly RunRecord[]): Set<string> {
  const [base, head] = splitSides(records);
  const { report } = runGate(base, head, {
    thresholdPercent: DEFAULTS.thresholdPercent,
    alpha: DEFAULTS.alpha,
    allowInconclusive: true,
  });
  const out = new Set<string>();
  for (const r of report.rows) {
    const changed = r.verdict === 'regression' || r.verdict === 'improvement';
    if (r.counted && changed && Math.min(r.nBaseline, r.nCurrent) < CONFIRM_PROCESSES)
      out.add(`${r.workload}/${r.model}`);
  }
  return out;
}

/** The counted runs that bring each side of each cell in `cells` to CONFIRM_PROCESSES ok processes, sides alternating. */
export function confirmationJobs(
  groups: readonly WorkloadGroup[],
  records: readonly RunRecord[],
  cells: ReadonlySet<string>,
): CountJob[] {
  const perSide: CountJob[][] = [];
  for (const group of groups) {
    for (const subject of group.subjects) {
      if (!cells.has(`${group.workload.name}/${subject.name}`)) continue;
      const mine = records.filter(
        (r) => r.workload === group.workload.name && r.model === subject.name && r.side === subject.side,
      );
      const ok = instructionRuns(mine).length;
      const nextRun = Math.max(-1, ...mine.map((r) => r.run)) + 1;
      perSide.push(
        Array.from({ length: Math.max(0, CONFIRM_PROCESSES - ok) }, (_, i) => ({ group, subject, run: nextRun + i })),
      );
    }
  }
  // base, head, base, head…: the slots count both sides at once.
  const longest = Math.max(0, ...perSide.map((j) => j.length));
  return Array.from({ length: longest }, (_, i) => perSide.flatMap((j) => (j[i] ? [j[i]!] : []))).flat();
}
