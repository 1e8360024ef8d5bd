import { testContext } from './helpers/context.js';
import { describe, it, expect } from 'vitest';
import { blockWindows, runBlock, turnOrder, untilQuiet } from '../bench/run/run-block.js';
import { modelSubject, type CellContext } from '../bench/run/run-cell.js';
import { expandFamily } from '../bench/data/matrix.js';
import { FAMILIES } from '../bench/data/workloads.js';
import { findModel } from '../servers/registry.js';
import { sumLoadResults, sumServerUsage } from '../bench/run/sum-windows.js';
import { encodeHistogram, latencyHistogram, decodeHistogram } from '../clients/histogram.js';
import { noErrors, type LoadResult } from '../clients/load-result.js';

describe("an --against block's schedule", () => {
  it("splits the run's duration into windows of about --alternate seconds, at least one", () => {
    expect(blockWindows(2, 0.25)).toEqual({ windows: 8, windowSec: 0.25 });
    expect(blockWindows(0.5, 0.25)).toEqual({ windows: 2, windowSec: 0.25 });
    expect(blockWindows(1, 0.3)).toEqual({ windows: 3, windowSec: 1 / 3 });
    expect(blockWindows(0.1, 0.25)).toEqual({ windows: 1, windowSec: 0.1 });
    expect(blockWindows(2, 0)).toEqual({ windows: 1, windowSec: 2 });
  });

  it('takes turns A B, B A, …: each side measures as often, and as often first', () => {
    expect(turnOrder(4)).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
    const order = turnOrder(7);
    expect(order.filter((i) => i === 0)).toHaveLength(7);
    expect(order.filter((i) => i === 1)).toHaveLength(7);
  });
});

describe("a side's windows summed into one run", () => {
  const window = (seconds: number, messages: number, latencies: number[], saturated = false): LoadResult => {
    const h = latencyHistogram();
    for (const v of latencies) h.recordValue(v);
    return {
      driver: 'native',
      seconds,
      messages,
      bytes: messages * 68,
      msgsPerSec: messages / seconds,
      bytesPerSec: (messages * 68) / seconds,
      latency: { count: latencies.length, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
      histogram: encodeHistogram(h),
      latencyResolution: 'us',
      errors: { ...noErrors(), timeouts: saturated ? 1 : 0 },
      client: { cpuPercent: saturated ? 95 : 40, saturated, ...(saturated ? { reason: 'client CPU 95%' } : {}) },
      connections: { total: 50, served: saturated ? 49 : 50 },
    };
  };

  it("adds messages and seconds, takes percentiles from the merged histogram, and keeps a saturated window's flag", () => {
    const sum = sumLoadResults([window(0.25, 1000, Array(99).fill(100)), window(0.25, 3000, [5000], true)]);
    expect(sum).toMatchObject({
      seconds: 0.5,
      messages: 4000,
      msgsPerSec: 8000,
      errors: { timeouts: 1 },
      connections: { total: 50, served: 49 },
    });
    expect(sum.client).toMatchObject({ saturated: true, reason: 'client CPU 95%' });
    expect(sum.client.cpuPercent).toBeCloseTo(67.5, 5);
    expect(decodeHistogram(sum.histogram!).totalCount).toBe(100);
    expect(sum.latency.p50).toBe(100);
    expect(sum.latency.max).toBeGreaterThanOrEqual(4995);
  });

  it("weights the server's CPU % by window length and adds its syscalls and context switches", () => {
    const u = (cpuPercent: number, read: number) => ({
      cpuPercent,
      cpuClock: 'schedstat' as const,
      syscalls: { read, write: read },
      contextSwitches: { voluntary: 1, involuntary: 2 },
      rssPeakBytes: read,
      processes: 1,
      hostStealPercent: cpuPercent / 10,
    });
    const sum = sumServerUsage([u(90, 10), u(60, 30)], [0.3, 0.1]);
    expect(sum.cpuPercent).toBeCloseTo(82.5, 10);
    expect(sum).toMatchObject({
      cpuClock: 'schedstat',
      syscalls: { read: 40, write: 40 },
      contextSwitches: { voluntary: 2, involuntary: 4 },
      rssPeakBytes: 30,
    });
    expect(sum.hostStealPercent).toBeCloseTo(8.25, 10);
    expect(sumServerUsage([u(90, 10), { ...u(60, 30), cpuClock: 'ticks' }], [1, 1]).cpuClock).toBe('ticks');
  });
});

describe('a block on this machine: two event-loop servers taking turns', () => {
  const ctx = (): CellContext => testContext({ warmupSec: 0.1, durationSec: 0.4, timeoutMs: 5000 });
  const echo = expandFamily(FAMILIES.find((f) => f.name === 'echo')!)[0]!;

  it('records one run a side, each its four windows summed, in the order given', async () => {
    const model = findModel('event-loop');
    const pair = [modelSubject(model, { side: 'head' }), modelSubject(model, { side: 'base' })] as const;
    const records = await runBlock(pair, echo, [3, 4], ctx(), 7, 0.1);
    expect(records.map((r) => [r.side, r.run, r.round, r.status])).toEqual([
      ['head', 3, 7, 'ok'],
      ['base', 4, 7, 'ok'],
    ]);
    for (const r of records) {
      if (r.status !== 'ok') throw new Error(r.reason);
      expect(r.block).toMatchObject({ windows: 4, windowSec: 0.1, settleSec: 0.05, first: 'head' });
      expect(r.block!.rates).toHaveLength(4);
      // Four windows of 0.1 s each (the driver measures its own, a little longer than asked).
      expect(r.result.seconds).toBeGreaterThanOrEqual(0.39);
      expect(r.result.seconds).toBeLessThan(2);
      expect(r.result.messages).toBeGreaterThan(0);
      expect(r.result.errors.mismatches).toBe(0);
      expect(r.server.usage?.cpuPercent).toBeGreaterThan(0);
    }
  }, 60_000);

  it('a side that cannot run is skipped and the other runs alone', async () => {
    const model = findModel('event-loop');
    const missing = {
      ...modelSubject(model, { side: 'base' }),
      available: () => ({ ok: false as const, reason: 'not in the base' }),
    };
    const records = await runBlock([missing, modelSubject(model, { side: 'head' })], echo, [0, 0], ctx(), 0, 0.1);
    expect(records[0]).toMatchObject({ status: 'skipped', reason: 'not in the base' });
    expect(records[1]).toMatchObject({ status: 'ok', side: 'head' });
    expect(records[1]!.block).toBeUndefined();
  }, 60_000);
});

describe('between windows, a server that goes on working is waited out', () => {
  /** A server whose tree is busy for the first `busyLooks` looks at it, then idle. */
  const server = (busyLooks: number) => {
    let looks = 0;
    return {
      looks: () => looks,
      startSampler: async () => ({
        finish: async () => ({ cpuPercent: looks++ < busyLooks ? 80 : 1, rssPeakBytes: 1, processes: 1 }),
      }),
    };
  };

  it('looks until it is quiet: a quiet one once, a busy one until its work is done', async () => {
    const quiet = server(0);
    expect(await untilQuiet(quiet)).toBeLessThan(1);
    expect(quiet.looks()).toBe(1);
    const busy = server(3);
    expect(await untilQuiet(busy)).toBeGreaterThanOrEqual(0.15);
    expect(busy.looks()).toBe(4);
  });
});
