/**
 * The capacity search of one cell (--slo): open-loop runs in fresh servers at the rates bench/judge/capacity.ts
 * chooses, each run handed on as soon as it exists (a stopped suite keeps every step it measured).
 */
import { runCell, throwIfAborted, type CellContext, type CellSubject } from './run-cell.js';
import { nextStep, stepsOf, stepWindowSec, type CapacityResult } from '../judge/capacity.js';
import type { Objective } from '../data/slo.js';
import type { Workload } from '../data/workloads.js';
import type { RunRecord } from '../data/record.js';

export interface SearchHooks {
  onRecord(record: RunRecord): void;
  /** After each run: the rate just run and the step's verdict so far. */
  onStep?(rate: number, verdict: string, why: string): void;
}

export async function searchCapacity(
  subject: CellSubject,
  workload: Workload,
  ctx: CellContext,
  objective: Objective,
  start: number,
  hooks: SearchHooks,
  /** The rate the driver gave out at on the reference server: no step goes past it. */
  cap?: number,
): Promise<CapacityResult> {
  const records: RunRecord[] = [];
  let attempts = 0;
  for (;;) {
    throwIfAborted(ctx.signal);
    const next = nextStep(stepsOf(records, objective), start, cap);
    if ('done' in next) return next.done;
    // A run set aside (a disturbance) is repeated, up to as many again as the search has runs.
    if (++attempts > 200) return { driverBound: false, note: 'too many runs set aside or skipped' };
    const durationSec = stepWindowSec(next.rate, objective, ctx.settings.durationSec);
    const record = await runCell(subject, { ...workload, rate: next.rate }, records.length, {
      ...ctx,
      settings: { ...ctx.settings, durationSec },
    });
    const marked = {
      ...record,
      slo: { objective, rate: next.rate, start, ...(cap !== undefined ? { cap } : {}) },
    } as RunRecord;
    hooks.onRecord(marked);
    records.push(marked);
    if (record.status === 'skipped') return { driverBound: false, note: `skipped: ${record.reason}` };
    if (record.status === 'interrupted') return { driverBound: false, note: 'interrupted' };
    const step = stepsOf(records, objective).find((s) => s.rate === next.rate);
    hooks.onStep?.(next.rate, step?.verdict ?? 'undecided', step?.why ?? '');
  }
}
