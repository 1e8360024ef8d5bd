import { describe, it, expect } from 'vitest';
import { contenders, needsMore, type WorkloadGroup } from '../bench/orchestrator.js';
import type { CellSubject } from '../bench/run-cell.js';
import type { RunRecord } from '../bench/record.js';
import { fakeRecord, runsOf } from './helpers/records.js';

const budget = { minRuns: 3, maxRuns: 6, targetCiPercent: 5 };

describe('adaptive runs: does a cell need another run?', () => {
  it('every cell gets the minimum first', () => {
    expect(needsMore([], budget).more).toBe(true);
    expect(needsMore(runsOf('a', [100, 100]), budget).more).toBe(true);
  });

  it('a cell whose interval is within the target gets no more runs', () => {
    expect(needsMore(runsOf('a', [100, 101, 99]), budget)).toMatchObject({ more: false });
  });

  it('a wide cell gets more runs until the budget of runs is spent', () => {
    const wide = needsMore(runsOf('a', [80, 120, 100]), budget);
    expect(wide.more).toBe(true);
    expect(wide.margin).toBeGreaterThan(0.05);
    expect(needsMore(runsOf('a', [80, 120, 100, 90, 110, 95]), budget).more).toBe(false);
  });

  it('a cell that never ran ok gets no extra runs; set-aside runs are made up for', () => {
    expect(needsMore([fakeRecord({ model: 'a', msgsPerSec: 0, status: 'errored' })], budget).more).toBe(false);
    const stolen = [...runsOf('a', [100, 101]), { ...fakeRecord({ model: 'a', msgsPerSec: 100, run: 2 }), discarded: 'steal' }];
    expect(needsMore(stolen, budget).more).toBe(true);
  });

  it('repeats stop at twice the run budget even if runs keep being set aside', () => {
    const stolen = Array.from({ length: 12 }, (_, run) => ({ ...fakeRecord({ model: 'a', msgsPerSec: 100, run }), discarded: 'steal' }));
    expect(needsMore(stolen, budget).more).toBe(false);
  });
});

describe('adaptive runs go first to the cells a verdict depends on', () => {
  const subject = (name: string, reference = false): CellSubject => ({
    name,
    reference,
    available: () => ({ ok: true }),
    load: (w) => w,
    start: () => Promise.reject(new Error('not started in this test')),
  });
  it('contenders: the leader and every model whose interval reaches it; never a reference or a client-bound row', () => {
    const [a, b, c, ref, sat] = [subject('a'), subject('b'), subject('c'), subject('native', true), subject('sat')];
    const runs: Record<string, RunRecord[]> = {
      a: runsOf('a', [100, 101, 99]),
      b: runsOf('b', [90, 110, 95]), // wide: its interval reaches a's
      c: runsOf('c', [50, 51, 49]),
      native: runsOf('native', [200, 201, 199]),
      sat: runsOf('sat', [300, 300, 300], { saturated: true }),
    };
    const group = { subjects: [a, b, c, ref, sat] } as unknown as WorkloadGroup;
    const set = contenders(group, (_g, s) => runs[s.name]!);
    expect([...set].map((s) => s.name).sort()).toEqual(['a', 'b']);
  });
});
