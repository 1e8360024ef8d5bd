import { describe, it, expect } from 'vitest';
import { cellsToConfirm, confirmationJobs, CONFIRM_PROCESSES } from '../bench/run/confirm.js';
import type { WorkloadGroup } from '../bench/run/orchestrator.js';
import type { CellSubject } from '../bench/run/run-cell.js';
import type { RunRecord } from '../bench/data/record.js';
import { DEFAULT_PARAMS, type Workload } from '../bench/data/workloads.js';
import { fakeRecord } from './helpers/records.js';

const counted = (model: string, side: 'base' | 'head', instructionsPerMsg: number, run = 0): RunRecord =>
  fakeRecord({ model, side, run, msgsPerSec: 1000, instructionsPerMsg, workload: 'echo' });

describe('the counts gate confirms a change in fresh processes before believing it', () => {
  it('a cell beyond its threshold with one process a side is confirmed; one within it, or already confirmed, is not', () => {
    const records = [
      counted('event-loop', 'base', 13_740),
      counted('event-loop', 'head', 14_203),
      counted('iterative', 'base', 15_300),
      counted('iterative', 'head', 15_320),
    ];
    expect([...cellsToConfirm(records)]).toEqual(['echo/event-loop']);
    // An improvement beyond the threshold is a claim too.
    expect([...cellsToConfirm([counted('iterative', 'base', 15_300), counted('iterative', 'head', 14_000)])]).toEqual([
      'echo/iterative',
    ]);
    const confirmed = [0, 1, 2].flatMap((run) => [
      counted('event-loop', 'base', 13_740, run),
      counted('event-loop', 'head', 14_203, run),
    ]);
    expect(cellsToConfirm(confirmed).size).toBe(0);
  });

  it(`each side of the cell gets the runs that bring it to ${CONFIRM_PROCESSES} counted processes, sides alternating, run numbers after the last`, () => {
    const subject = (name: string, side: 'base' | 'head'): CellSubject => ({
      name,
      side,
      available: () => ({ ok: true }),
      start: () => Promise.reject(new Error('not started')),
      load: (w) => w,
    });
    const group = {
      workload: { ...DEFAULT_PARAMS, name: 'echo' } as Workload,
      subjects: [
        subject('event-loop', 'base'),
        subject('event-loop', 'head'),
        subject('iterative', 'base'),
        subject('iterative', 'head'),
      ],
      leading: [],
      ctx: {},
    } as unknown as WorkloadGroup;
    // The head's first try failed (a record, not ok): it still needs three ok processes, numbered after it.
    const records = [
      counted('event-loop', 'base', 13_740),
      fakeRecord({
        model: 'event-loop',
        side: 'head',
        run: 0,
        msgsPerSec: 0,
        workload: 'echo',
        status: 'errored',
        reason: 'timeout',
      }),
      counted('event-loop', 'head', 14_203, 1),
    ];
    const jobs = confirmationJobs([group], records, new Set(['echo/event-loop']));
    expect(jobs.map((j) => `${j.subject.side}:${j.run}`)).toEqual(['base:1', 'head:2', 'base:2', 'head:3']);
  });
});
