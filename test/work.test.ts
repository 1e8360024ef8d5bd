import { describe, it, expect } from 'vitest';
import {
  parseWorkSpec,
  resolveWork,
  formatWork,
  WorkSpecError,
  runWork,
  spin,
  calibrateSpin,
} from '../servers/work.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CPU_RATE_FILE, keepCpuRate, keptCpuRate, rateOfRecords } from '../bench/run/cpu-rate.js';
import type { OkRecord, RunRecord } from '../bench/data/record.js';
import { fakeRecord, type FakeRun } from './helpers/records.js';

describe('work specs', () => {
  it('parses every kind', () => {
    expect(parseWorkSpec('none')).toEqual({ kind: 'none' });
    expect(parseWorkSpec('cpu:200')).toEqual({ kind: 'cpu', amount: 200 });
    expect(parseWorkSpec('block:5')).toEqual({ kind: 'block', amount: 5 });
    expect(parseWorkSpec('async:2.5')).toEqual({ kind: 'async', amount: 2.5 });
  });

  it.each(['', 'cpu', 'cpu:', 'cpu:-1', 'cpu:0', 'sleep:5', 'none:3', 'block:abc', 'async:1e9', 'cpu:5000000'])(
    'rejects "%s" with a clear message',
    (text) => {
      expect(() => parseWorkSpec(text)).toThrow(WorkSpecError);
      try {
        parseWorkSpec(text);
      } catch (error) {
        expect((error as Error).message).toMatch(/work/);
        expect((error as Error).message).not.toMatch(/undefined/);
      }
    },
  );

  it('resolves cpu work with the calibrated rate and formats back', () => {
    const work = resolveWork(parseWorkSpec('cpu:100'), () => 12.5);
    expect(work).toEqual({ kind: 'cpu', micros: 100, iterations: 1250 });
    expect(formatWork(work)).toBe('cpu:100');
    expect(formatWork(parseWorkSpec('async:3'))).toBe('async:3');
  });

  it('runs sync kinds synchronously and async as a promise', async () => {
    expect(runWork({ kind: 'none' })).toBeUndefined();
    expect(runWork({ kind: 'cpu', micros: 1, iterations: 10 })).toBeUndefined();
    const t0 = performance.now();
    expect(runWork({ kind: 'block', millis: 20 })).toBeUndefined();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    const pending = runWork({ kind: 'async', millis: 5 });
    expect(pending).toBeInstanceOf(Promise);
    await pending;
  });

  it('spin does work proportional to iterations and calibration is positive', () => {
    expect(spin(1000)).not.toBe(spin(1000) === 0 ? 1 : 0);
    expect(calibrateSpin(2, 100_000)).toBeGreaterThan(0);
  });
});

describe('the cpu rate kept per machine', () => {
  const machine = { hostname: 'h', cpuModel: 'test cpu' };
  const cpuRecord = (iterations: number, extra: Partial<FakeRun> = {}): RunRecord => {
    const r = fakeRecord({ model: 'event-loop', msgsPerSec: 1000, ...extra }) as OkRecord;
    return {
      ...r,
      params: { ...r.params, work: 'cpu:200' },
      server: { ...r.server, details: { cpuIterations: iterations } },
    };
  };

  it("reads a suite's rate from its servers' iterations per message, leaving out the counted runs", () => {
    expect(rateOfRecords([cpuRecord(136_200), cpuRecord(136_200, { run: 1 })])).toBeCloseTo(681, 5);
    expect(rateOfRecords([cpuRecord(2_000, { instructionsPerMsg: 5e6 })])).toBeUndefined();
    expect(rateOfRecords([fakeRecord({ model: 'event-loop', msgsPerSec: 1000 })])).toBeUndefined();
  });

  it('keeps a rate for this machine only, and says where it came from', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'cpu-rate-'));
    expect(keptCpuRate(root, machine)).toBeUndefined();
    keepCpuRate(root, machine, 681.1, '20261207-171219Z');
    expect(keptCpuRate(root, machine)).toEqual({
      iterationsPerUs: 681.1,
      source: expect.stringMatching(/suite 20261207-171219Z .*--recalibrate/),
    });
    expect(keptCpuRate(root, { ...machine, cpuModel: 'another cpu' })).toBeUndefined();
    writeFileSync(path.join(root, CPU_RATE_FILE), '{ not json');
    expect(keptCpuRate(root, machine)).toBeUndefined();
  });
});
