import { describe, expect, it } from 'vitest';
import { changePoints } from '../bench/judge/history.js';

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

  it('one counted run a suite, a regression held for 4 of 10 suites and reverted: found only within a window', () => {
    // Measured (compare --history of 10 suites of main): event-loop echo 12.9k → 20.3k → 12.9k instructions/msg.
    const counts = [12_913, 12_920, 12_905, 20_340, 20_310, 20_352, 20_331, 12_910, 12_925, 12_917].map((x) => [x]);
    const t = { ...o, threshold: 0.01 };
    // Over the whole series the first split mixes both levels on one side and is not significant.
    expect(changePoints(counts, t)).toEqual([]);
    expect(changePoints(counts, { ...t, window: 3 }).map((p) => p.at)).toEqual([3, 7]);
  });
});
