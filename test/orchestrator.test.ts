import { describe, it, expect } from 'vitest';
import { contenders, needsMore, runSuite, type CellRunner, type WorkloadGroup } from '../bench/orchestrator.js';
import { setAsideReason, type CellContext, type CellSubject } from '../bench/run-cell.js';
import { DEFAULT_PARAMS } from '../bench/axes.js';
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

describe('a suite with runs set aside: they are marked, repeated, and the cell still gets its counted runs', () => {
  const subject = (name: string): CellSubject => ({ name, available: () => ({ ok: true }), load: (w) => w, start: () => Promise.reject(new Error('not started')) });
  const workload = { ...DEFAULT_PARAMS, name: 'w', family: 'w', description: '', predicts: '' };
  const group = (names: string[]): WorkloadGroup => ({ workload, subjects: names.map(subject), leading: [], ctx: {} as CellContext });
  /** A stand-in for runCell: every run ok at 100 msgs/s, except those `setAside` names (by model and attempt). */
  const runner = (setAside: (model: string, attempt: number) => boolean): CellRunner => async (s, _w, run) => {
    const r = fakeRecord({ model: s.name, msgsPerSec: 100, run });
    return setAside(s.name, run) ? { ...r, discarded: 'other processes used 40% of a CPU during the window (limit 15%)' } : r;
  };

  it('a set-aside run is repeated until the cell has its minimum of counted runs, in the same order of rounds', async () => {
    const seen: string[] = [];
    const records = await runSuite([group(['a', 'b'])], { minRuns: 2, maxRuns: 2, targetCiPercent: 5 }, { onRecord: (r) => seen.push(`${r.model}#${r.run}${r.status === 'ok' && r.discarded ? '*' : ''}`) }, runner((m, i) => m === 'a' && i === 0));
    expect(seen).toEqual(['a#0*', 'b#0', 'b#1', 'a#1', 'a#2']);
    const counted = (m: string): number => records.filter((r) => r.model === m && r.status === 'ok' && r.discarded === undefined).length;
    expect(counted('a')).toBe(2);
    expect(counted('b')).toBe(2);
  });

  it('a cell whose runs are always set aside stops at twice its run budget and counts none', async () => {
    const records = await runSuite([group(['a'])], { minRuns: 2, maxRuns: 3, targetCiPercent: 5 }, { onRecord: () => {} }, runner(() => true));
    expect(records).toHaveLength(6);
    expect(records.every((r) => r.status === 'ok' && r.discarded !== undefined)).toBe(true);
  });

  it('the set-aside rule: steal or other load over its limit, never with keepEveryRun', () => {
    const limits = { stealLimitPercent: 10, otherLoadLimitPercent: 15 };
    const usage = (hostStealPercent: number, otherLoadPercent: number) => ({ cpuPercent: 90, rssPeakBytes: 1, processes: 1, hostStealPercent, otherLoadPercent });
    expect(setAsideReason(usage(2, 5), limits)).toBeUndefined();
    expect(setAsideReason(usage(12, 5), limits)).toMatch(/hypervisor stole 12% .*limit 10%/);
    expect(setAsideReason(usage(2, 40), limits)).toMatch(/other processes used 40% .*limit 15%/);
    expect(setAsideReason(usage(50, 90), { ...limits, keepEveryRun: true })).toBeUndefined();
    expect(setAsideReason(undefined, limits)).toBeUndefined();
  });
});
