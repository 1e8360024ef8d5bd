import { describe, it, expect } from 'vitest';
import { compareSuites, cellSamples, pickReference } from '../bench/compare.js';
import { runsOf } from './helpers/records.js';

const opts = { threshold: 0.1, alpha: 0.05 };

describe('baseline comparison', () => {
  it('flags a significant drop beyond the threshold as a regression', () => {
    const base = runsOf('a', [100, 101, 99, 100, 102]);
    const cur = runsOf('a', [80, 81, 79, 80, 82]);
    const report = compareSuites(base, cur, opts);
    expect(report.regressions.map((r) => r.model)).toEqual(['a']);
    expect(report.rows[0]!.change).toBeCloseTo(-0.2, 2);
  });

  it('noise is not a regression, and a small significant drop is below the threshold', () => {
    expect(compareSuites(runsOf('a', [100, 120, 80]), runsOf('a', [90, 110, 85]), opts).regressions).toEqual([]);
    const small = compareSuites(runsOf('a', [100, 100.5, 99.5, 100]), runsOf('a', [95, 95.5, 94.5, 95]), opts);
    expect(small.rows[0]!.significant).toBe(true);
    expect(small.rows[0]!.verdict).toBe('same');
  });

  it('normalizing by a reference run in the same round cancels a machine that got slower overall', () => {
    // Everything 30 % slower in the current suite, including the reference: not a regression of model a.
    const base = [...runsOf('ref', [200, 202, 198]), ...runsOf('a', [100, 101, 99])];
    const cur = [...runsOf('ref', [140, 141, 139]), ...runsOf('a', [70, 70.5, 69.5])];
    expect(compareSuites(base, cur, opts).regressions).toHaveLength(2); // absolute: both look like regressions
    const relative = compareSuites(base, cur, { ...opts, reference: 'ref' });
    expect(relative.regressions).toEqual([]);
    expect(relative.basis).toMatch(/relative to ref/);
    expect(relative.rows.map((r) => r.model)).toEqual(['a']);
  });

  it('reports cells that are new or missing', () => {
    const report = compareSuites(runsOf('a', [1, 2, 3]), runsOf('b', [1, 2, 3]), opts);
    expect(report.rows.map((r) => [r.model, r.verdict])).toEqual([
      ['b', 'new'],
      ['a', 'missing'],
    ]);
  });

  it('saturated-client runs are left out of the samples', () => {
    const cells = cellSamples([...runsOf('a', [100, 100]), ...runsOf('a', [500], { saturated: true })], undefined);
    expect([...cells.values()][0]!.samples).toEqual([100, 100]);
  });

  it('picks a reference only when both suites measured it', () => {
    const withRef = [...runsOf('native-epoll', [1]), ...runsOf('a', [1])];
    expect(pickReference(withRef, withRef, ['native-epoll'])).toBe('native-epoll');
    expect(pickReference(withRef, runsOf('a', [1]), ['native-epoll'])).toBeUndefined();
  });
});
