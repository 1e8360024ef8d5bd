import { describe, it, expect } from 'vitest';
import { confidenceInterval, compareSamples, comparePaired, median, runsToResolve } from '../bench/data/stats.js';

describe('statistics', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('95% interval of the mean uses Student t (known values)', () => {
    // mean 10, sd 1, n 4: half-width = t(0.975, 3) · 1/2 = 3.182446 / 2
    const ci = confidenceInterval(
      [9, 9, 11, 11].map((x) => x + 0 * 1),
      0.95,
    );
    const sd = Math.sqrt(4 / 3);
    const half = 3.182446305284263 * (sd / 2);
    expect(ci.mean).toBe(10);
    expect(ci.low).toBeCloseTo(10 - half, 6);
    expect(ci.high).toBeCloseTo(10 + half, 6);
    expect(ci.relativeMargin).toBeCloseTo(half / 10, 6);
  });

  it('one sample has no interval', () => {
    const ci = confidenceInterval([5]);
    expect(ci.low).toBe(5);
    expect(ci.relativeMargin).toBeNaN();
  });

  it('Welch t-test: a clear difference is significant, overlapping noise is not', () => {
    const a = [100, 102, 98, 101, 99];
    const b = [120, 122, 118, 121, 119];
    const clear = compareSamples(a, b);
    expect(clear.significant).toBe(true);
    expect(clear.change).toBeCloseTo(0.2, 6);
    expect(clear.pValue).toBeLessThan(0.001);
    const noise = compareSamples([100, 110, 90], [105, 95, 101]);
    expect(noise.significant).toBe(false);
    expect(noise.pValue).toBeGreaterThan(0.05);
  });

  it('Welch t-test matches scipy.stats.ttest_ind(equal_var=False): p = 0.0078469', () => {
    const r = compareSamples([19.1, 18.7, 20.3, 19.9, 18.2], [21.5, 20.8, 22.9, 20.1, 21.7]);
    expect(r.pValue).toBeCloseTo(0.0078469, 6);
  });

  it('too few runs or zero variance are handled, not NaN-significant', () => {
    expect(compareSamples([1], [2]).significant).toBe(false);
    expect(compareSamples([5, 5], [5, 5]).significant).toBe(false);
    expect(compareSamples([5, 5], [6, 6]).significant).toBe(true);
  });

  it('runs a side to resolve a change: 10 % spread per run, ±10 % threshold, t(16) · 0.1 · √(2/9) < 0.1 first at 9', () => {
    expect(runsToResolve([90, 100, 110], 0.1)).toBe(9);
    expect(runsToResolve([90, 100, 110], 0.05)).toBeGreaterThan(30);
    expect(runsToResolve([5, 5, 5], 0.1)).toBeUndefined();
  });
});

describe('paired comparison (the two runs of an --against block)', () => {
  // Both sides move together by ±20 % from pair to pair; the head is 3 % above the base in each, ±0.5 %.
  const machine = [1, 1.2, 0.8, 1.1, 0.9, 1.15, 0.85];
  const wobble = [1.005, 0.995, 1.003, 0.997, 1.0, 1.004, 0.996];
  const base = machine.map((m) => 10 * m);
  const head = machine.map((m, i) => 10 * m * 1.03 * wobble[i]!);

  it('tests the ratio within each pair: a 3 % change under ±20 % common movement is significant, with a narrow interval', () => {
    const paired = comparePaired(base, head);
    expect(paired.test).toBe('paired-t');
    expect(paired.significant).toBe(true);
    expect(paired.change).toBeCloseTo(0.03, 2);
    expect(paired.changeLow).toBeGreaterThan(0.02);
    expect(paired.changeHigh).toBeLessThan(0.04);
    // Welch's test on the same values sees only the common movement.
    expect(compareSamples(base, head).significant).toBe(false);
  });

  it('the same values in another pairing are noise: the pairing is what carries the information', () => {
    const shuffled = [...head.slice(3), ...head.slice(0, 3)];
    expect(comparePaired(base, shuffled).changeHigh - comparePaired(base, shuffled).changeLow).toBeGreaterThan(0.2);
  });

  it('needs two pairs; identical ratios are exact', () => {
    expect(comparePaired([1], [2])).toMatchObject({ test: 'none', significant: false });
    expect(comparePaired([1, 2, 4], [1.1, 2.2, 4.4])).toMatchObject({
      test: 'paired-t',
      significant: true,
      note: 'zero variance',
    });
    expect(comparePaired([1, 2, 4], [1.1, 2.2, 4.4]).change).toBeCloseTo(0.1, 10);
  });
});
