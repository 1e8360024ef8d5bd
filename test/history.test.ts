import { describe, expect, it } from 'vitest';
import { changePoints } from '../bench/history.js';

const o = { threshold: 0.05, alpha: 0.05, minSuites: 2 };
/** Five runs a suite around `level`, with a ±2 % spread. */
const suite = (level: number): number[] => [0.98, 1.01, 1.0, 0.99, 1.02].map((k) => k * level);

describe('change points in a history of suites', () => {
  it('finds a regression committed in the middle and its revert, at the right suites, and nothing else', () => {
    const series = [100, 100, 100, 100, 115, 115, 115, 100, 100, 100].map(suite);
    const points = changePoints(series, o);
    expect(points.map((p) => p.at)).toEqual([4, 7]);
    expect(points[0]!.change).toBeCloseTo(0.15, 1);
    expect(points[1]!.change).toBeCloseTo(-0.13, 1);
  });

  it('a flat but noisy history has no change point, and a change below the threshold is not one', () => {
    const noisy = [100, 104, 97, 101, 99, 103, 98, 100].map(suite);
    expect(changePoints(noisy, o)).toEqual([]);
    expect(changePoints([100, 100, 100, 100, 103, 103, 103, 103].map(suite), o)).toEqual([]);
  });

  it('deterministic counts: one run a suite, an exact step is found', () => {
    const counts = [13_900, 13_901, 13_899, 13_900, 14_300, 14_301, 14_299, 14_300].map((x) => [x]);
    expect(changePoints(counts, { ...o, threshold: 0.01 }).map((p) => p.at)).toEqual([4]);
  });
});
