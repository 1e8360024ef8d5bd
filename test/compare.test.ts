import { INSTRUCTION_THRESHOLDS, instructionThresholds } from '../bench/judge/gate.js';
import { describe, it, expect } from 'vitest';
import { compareSuites, cellSamples, gateFails, pickReference, type CompareOptions } from '../bench/judge/compare.js';
import { runGate } from '../bench/judge/gate.js';
import { compareMarkdown, compareTable } from '../bench/format/compare.js';
import type { RunRecord } from '../bench/data/record.js';
import { fakeRecord, runsOf } from './helpers/records.js';

const opts: CompareOptions = { threshold: 0.1, alpha: 0.05 };
const rowOf = (report: ReturnType<typeof compareSuites>, metric: string) =>
  report.rows.find((r) => r.metric === metric)!;

/** Runs of model a at the given rates, the server at `cpu` % CPU (so CPU µs/msg = cpu/100 · 1e6 / rate). */
const runs = (rates: number[], cpu = 90, extra = {}) =>
  rates.map((r, run) => fakeRecord({ model: 'a', msgsPerSec: r, run, serverCpuPercent: cpu, ...extra }));

describe('baseline comparison, metric by metric', () => {
  it('flags a significant throughput drop beyond the threshold, with the interval of the change', () => {
    const report = compareSuites(runs([100, 101, 99, 100, 102]), runs([80, 81, 79, 80, 82]), opts);
    const t = rowOf(report, 'throughput');
    expect(t.verdict).toBe('regression');
    expect(t.change).toBeCloseTo(-0.2, 2);
    expect(t.changeLow).toBeLessThan(t.change);
    expect(t.changeHigh).toBeGreaterThan(t.change);
    expect(t.changeHigh).toBeLessThan(-0.1);
    expect(report.regressions.map((r) => r.metric)).toContain('throughput');
  });

  it('a server that costs 15 % more CPU per message is a regression even when the client set the pace', () => {
    // The client saturated in every run (same rate both times), so throughput cannot be compared: CPU µs/msg can.
    const base = runs([100, 100, 100, 100], 80, { saturated: true });
    const cur = [80 * 1.15, 80 * 1.16, 80 * 1.14, 80 * 1.15].map((cpu, run) =>
      fakeRecord({ model: 'a', msgsPerSec: 100, run, serverCpuPercent: cpu, saturated: true }),
    );
    const report = compareSuites(base, cur, opts);
    expect(rowOf(report, 'cpuPerMsg').verdict).toBe('regression');
    expect(rowOf(report, 'cpuPerMsg').change).toBeCloseTo(0.15, 2);
    expect(report.rows.find((r) => r.metric === 'throughput')).toBeUndefined();
    expect(report.dropped[0]!.reason).toMatch(/load client saturated in every run/);
  });

  it('noise is inconclusive, never "same"; a small significant change is "same"', () => {
    const noisy = compareSuites(runs([100, 120, 80]), runs([90, 110, 85]), opts);
    expect(rowOf(noisy, 'throughput').verdict).toBe('inconclusive');
    expect(rowOf(noisy, 'throughput').note).toMatch(
      /reaches -10.0%, so a regression beyond the threshold is not ruled out/,
    );
    const small = compareSuites(runs([100, 100.5, 99.5, 100]), runs([95, 95.5, 94.5, 95]), opts);
    expect(rowOf(small, 'throughput').verdict).toBe('same');
    const steady = compareSuites(runs([100, 101, 99, 100]), runs([100.5, 99.5, 100, 101]), opts);
    expect(rowOf(steady, 'throughput').verdict).toBe('same');
  });

  it('only the worse side of the interval matters: a wide interval that rules out a regression is "same"', () => {
    // Throughput (higher is better) up 0–25 %: no regression is possible, however wide the better side.
    const report = compareSuites(runs([100, 101, 99, 100]), runs([100, 125, 110, 115]), opts);
    const t = rowOf(report, 'throughput');
    expect(t.changeLow).toBeGreaterThan(-0.1);
    expect(t.changeHigh).toBeGreaterThan(0.1);
    expect(t.verdict).toBe('same');
  });

  it('too few runs are inconclusive and fail the gate unless allowed', () => {
    const report = compareSuites(runs([100, 101]), runs([60, 61]), opts);
    expect(report.rows.every((r) => r.verdict === 'inconclusive')).toBe(true);
    expect(rowOf(report, 'throughput').note).toMatch(/needs ≥ 3 runs on each side/);
    expect(gateFails(report, false).fails).toBe(true);
    expect(gateFails(report, true).fails).toBe(false);
  });

  it('normalizing by the reference run nearest in time cancels a machine that got slower overall (suites of different days)', () => {
    const suite = (id: string, records: RunRecord[]): RunRecord[] => records.map((r) => ({ ...r, suiteId: id }));
    const base = suite('monday', [...runsOf('ref', [200, 202, 198]), ...runs([100, 101, 99])]);
    const cur = suite('tuesday', [...runsOf('ref', [140, 141, 139]), ...runs([70, 70.5, 69.5], 63)]);
    expect(rowOf(compareSuites(base, cur, opts), 'throughput').verdict).toBe('regression'); // absolute
    const relative = compareSuites(base, cur, { ...opts, reference: 'ref' });
    expect(rowOf(relative, 'throughput').verdict).toBe('same');
    expect(rowOf(relative, 'throughput').normalized).toBe(true);
    expect(relative.basis).toMatch(/relative to ref's run nearest in time/);
    expect(new Set(relative.rows.map((r) => r.model))).toEqual(new Set(['a']));
    // Both sides of one --against session ran interleaved: compared absolute, the reference's noise left out.
    const session = compareSuites(suite('one', base), suite('one', cur), { ...opts, reference: 'ref' });
    expect(rowOf(session, 'throughput')).toMatchObject({ verdict: 'regression' });
    expect(rowOf(session, 'throughput').normalized).toBeUndefined();
    expect(session.basis).toBe('absolute msgs/s (both sides in one session, runs interleaved)');
  });

  it('the p99 of open-loop cells is compared (lower is better)', () => {
    const at = (p99: number[]) =>
      p99.map((v, run) => fakeRecord({ model: 'a', msgsPerSec: 100, run, rate: 100, latencies: [v] }));
    const report = compareSuites(at([1000, 1010, 990]), at([2000, 2020, 1980]), opts);
    expect(rowOf(report, 'p99').verdict).toBe('regression');
  });

  it('reports cells that are new or missing, and fails a gate that compared nothing', () => {
    const report = compareSuites(runsOf('a', [1, 2, 3]), runsOf('b', [1, 2, 3]), opts);
    expect(new Set(report.rows.map((r) => `${r.model}:${r.verdict}`))).toEqual(new Set(['b:new', 'a:missing']));
    expect(gateFails(report, true)).toMatchObject({ fails: true, why: expect.stringMatching(/nothing was compared/) });
  });

  it('saturated-client runs are left out of the throughput samples only', () => {
    const cells = cellSamples([...runsOf('a', [100, 100]), ...runsOf('a', [500], { saturated: true })], undefined);
    const a = [...cells.values()][0]!;
    expect(a.bySource.timed.values.throughput).toEqual([100, 100]);
    expect(a.bySource.timed.values.cpuPerMsg).toHaveLength(3);
  });

  it('picks a reference only when both suites measured it', () => {
    const withRef = [...runsOf('native-epoll', [1]), ...runsOf('a', [1])];
    expect(pickReference(withRef, withRef, ['native-epoll'])).toBe('native-epoll');
    expect(pickReference(withRef, runsOf('a', [1]), ['native-epoll'])).toBeUndefined();
  });

  it('a significant change estimated below the threshold is not "same" while its interval reaches past it', () => {
    const base = [100, 104, 96, 102, 98];
    const cpu = (scale: number) =>
      base.map((c, run) =>
        fakeRecord({ model: 'a', msgsPerSec: 100, run, serverCpuPercent: c * scale, saturated: true }),
      );
    const row = rowOf(compareSuites(cpu(1), cpu(1.08), opts), 'cpuPerMsg');
    expect(row.pValue).toBeLessThan(0.05);
    expect(row.changeHigh).toBeGreaterThan(0.1);
    expect(row.verdict).toBe('inconclusive');
    expect(rowOf(compareSuites(cpu(1), cpu(1.04), opts), 'cpuPerMsg').verdict).toBe('same');
  });

  it('warns when the baseline ran on another machine or Node version', () => {
    const report = compareSuites(
      runs([100, 101, 99]),
      runs([100, 101, 99], 90, { env: { node: 'v22.0.0', hostname: 'other' } }),
      opts,
    );
    expect(report.environmentWarnings.join('\n')).toMatch(/another machine/);
    expect(report.environmentWarnings.join('\n')).toMatch(/another Node version \(v20.0.0 vs v22.0.0\)/);
  });

  it('the gate and its tables say which metric regressed, with the decision last', () => {
    const gate = runGate(runs([100, 101, 99, 100]), runs([100, 101, 99, 100], 120), {
      thresholdPercent: 10,
      alpha: 0.05,
      allowInconclusive: false,
    });
    expect(gate.fails).toBe(true);
    expect(gate.decision).toMatch(/^FAIL: 1 regression\(s\): tcp\/w\/a \(server CPU µs\/msg\)/);
    const text = compareTable(gate.report, 10, gate.decision, true);
    expect(text).toMatch(/server CPU µs\/msg .*REGRESSION/);
    expect(text.trim().split('\n').at(-1)).toBe(gate.decision);
    expect(compareMarkdown(gate.report, 10, gate.decision)).toMatch(
      /\| tcp\/w\/a \| server CPU µs\/msg \|.*\*\*REGRESSION\*\*/,
    );
  });
});

describe('a baseline too noisy to gate', () => {
  // CPU µs/msg of seven runs spread ±12 % (as fork-per-connection's echo measured): an identical rerun could not be
  // shown within 10 %, whatever it measures.
  const noisyCpu = [70, 82, 71, 79, 61, 65, 58];
  // Each call is a suite of its own (a saved baseline and a later suite) unless given the same id (one session).
  let suites = 0;
  const suite = (cpus: number[], scale = 1, suiteId = `suite-${++suites}`) =>
    cpus.map((c, run) => ({
      ...fakeRecord({ model: 'a', msgsPerSec: 100, run, serverCpuPercent: c * scale, saturated: true }),
      suiteId,
    }));

  it('is unstable, shown with its change and the runs it would take, and not gated', () => {
    const report = compareSuites(suite(noisyCpu), suite(noisyCpu, 1.25), opts);
    const cpu = rowOf(report, 'cpuPerMsg');
    expect(cpu.verdict).toBe('unstable');
    expect(cpu.change).toBeCloseTo(0.25, 2);
    expect(cpu.note).toMatch(
      /baseline's own 95% interval is ±1\d\.\d% after 7 runs, too wide to resolve a 10.0% change.*about \d+ runs a side/,
    );
    expect(report.unstable).toHaveLength(1);
    expect(report.regressions).toHaveLength(0);
    expect(gateFails(report, false)).toMatchObject({ fails: true, why: expect.stringMatching(/nothing was gated/) });
  });

  it('is still a regression when the whole interval of the change lies beyond the threshold', () => {
    const report = compareSuites(suite(noisyCpu), suite(noisyCpu, 1.6), opts);
    const cpu = rowOf(report, 'cpuPerMsg');
    expect(cpu.changeLow).toBeGreaterThan(0.1);
    expect(cpu).toMatchObject({
      verdict: 'regression',
      note: expect.stringMatching(/whole 95% interval lies beyond 10.0%, although the baseline alone is ±1\d\.\d%/),
    });
    expect(rowOf(compareSuites(suite(noisyCpu, 1.6), suite(noisyCpu), opts), 'cpuPerMsg').verdict).toBe('improvement');
  });

  it('in one session (both sides interleaved) a significant change beyond the threshold is a regression however noisy the baseline', () => {
    const saved = rowOf(compareSuites(suite(noisyCpu), suite(noisyCpu, 1.25), opts), 'cpuPerMsg');
    expect(saved).toMatchObject({ verdict: 'unstable' });
    expect(saved.pValue).toBeLessThan(0.05);
    const session = rowOf(compareSuites(suite(noisyCpu, 1, 'one'), suite(noisyCpu, 1.25, 'one'), opts), 'cpuPerMsg');
    expect(session).toMatchObject({
      verdict: 'regression',
      note: expect.stringMatching(/significant and beyond 10.0% with both sides in one session/),
    });
    // An identical side stays not gated: no guess either way.
    expect(rowOf(compareSuites(suite(noisyCpu, 1, 'one'), suite(noisyCpu, 1, 'one'), opts), 'cpuPerMsg').verdict).toBe(
      'unstable',
    );
  });

  it('leaves the other cells gated, and the decision names what it did not gate', () => {
    const steady = [9, 9.1, 8.9, 9, 9.05].map((c, run) =>
      fakeRecord({ model: 'b', msgsPerSec: 100, run, serverCpuPercent: c, saturated: true }),
    );
    const slower = [9, 9.1, 8.9, 9, 9.05].map((c, run) =>
      fakeRecord({ model: 'b', msgsPerSec: 100, run, serverCpuPercent: c * 1.2, saturated: true }),
    );
    const pass = gateFails(
      compareSuites([...suite(noisyCpu), ...steady], [...suite(noisyCpu, 1.25), ...steady], opts),
      false,
    );
    expect(pass).toMatchObject({
      fails: false,
      why: expect.stringMatching(
        /no regression in 1 gated cell\(s\); not gated \(too noisy to judge, see their notes\): tcp\/w\/a \(server CPU µs\/msg\)/,
      ),
    });
    const fail = gateFails(
      compareSuites([...suite(noisyCpu), ...steady], [...suite(noisyCpu), ...slower], opts),
      false,
    );
    expect(fail).toMatchObject({ fails: true, why: expect.stringMatching(/1 regression\(s\): tcp\/w\/b/) });
  });

  it('with fewer than 5 baseline runs a wide interval is too few runs: inconclusive, and gating', () => {
    const report = compareSuites(suite(noisyCpu.slice(0, 4)), suite(noisyCpu.slice(0, 4), 1.05), opts);
    expect(rowOf(report, 'cpuPerMsg')).toMatchObject({ verdict: 'inconclusive', gating: true });
  });
});

describe('which metric decides a cell', () => {
  it('CPU µs/msg unchanged decides the cell: a throughput too noisy to judge is shown but does not fail the gate', () => {
    // Same cost per message both times; throughput swung with whatever else ran on the machine.
    const rates = [
      [100, 60, 130, 80],
      [70, 120, 90, 140],
    ];
    const [base, cur] = rates.map((rs) =>
      rs.map((r, run) => fakeRecord({ model: 'a', msgsPerSec: r, run, serverCpuPercent: r * 0.9 })),
    );
    const report = compareSuites(base!, cur!, opts);
    expect(rowOf(report, 'cpuPerMsg').verdict).toBe('same');
    expect(rowOf(report, 'throughput')).toMatchObject({ verdict: 'inconclusive', gating: false });
    expect(gateFails(report, false).fails).toBe(false);
  });

  it('an undecided CPU µs/msg leaves every undecided metric of the cell failing the gate', () => {
    const cpus = [
      [90, 60, 120],
      [80, 130, 70],
    ];
    const [base, cur] = cpus.map((cs) =>
      cs.map((c, run) => fakeRecord({ model: 'a', msgsPerSec: 100 + run, run, serverCpuPercent: c })),
    );
    const report = compareSuites(base!, cur!, opts);
    expect(rowOf(report, 'cpuPerMsg')).toMatchObject({ verdict: 'inconclusive', gating: true });
    expect(gateFails(report, false).fails).toBe(true);
  });
});

describe('counts in the gate', () => {
  const timed = (rates: number[], extra = {}) =>
    rates.map((r, run) => fakeRecord({ model: 'a', msgsPerSec: r, run, serverCpuPercent: 90, ...extra }));
  const countedRun = (instructionsPerMsg: number) =>
    fakeRecord({ model: 'a', msgsPerSec: 1000, run: 9, instructionsPerMsg });

  it('a cell counted on both sides is decided by its counts: +3 % instructions fails, though timing saw nothing', () => {
    const report = compareSuites(
      [...timed([100, 101, 99, 100]), countedRun(13_900)],
      [...timed([100, 99, 101, 100]), countedRun(14_317)],
      opts,
    );
    expect(rowOf(report, 'instructionsPerMsg')).toMatchObject({ verdict: 'regression' });
    expect(rowOf(report, 'instructionsPerMsg').change).toBeCloseTo(0.03, 3);
    expect(gateFails(report, false).fails).toBe(true);
  });

  it('with counts unchanged, a timing swing is shown as report only and does not fail the gate', () => {
    const report = compareSuites(
      [...timed([100, 101, 99, 100]), countedRun(13_900)],
      [...timed([70, 71, 69, 70]), countedRun(13_905)],
      opts,
    );
    expect(rowOf(report, 'instructionsPerMsg').verdict).toBe('same');
    expect(rowOf(report, 'throughput')).toMatchObject({ verdict: 'regression', informational: true });
    expect(report.regressions).toHaveLength(0);
    expect(gateFails(report, false).fails).toBe(false);
    expect(compareTable(report, 10, 'PASS', true)).toMatch(/slower \(timing: report only\)/);
  });

  it('a model whose counts vary between processes: its instruction row is shown, not gated, and timing decides the cell', () => {
    const vary = { ...opts, countsVary: new Map([['a', 'measured: 13.0k–16.7k']]) };
    const report = compareSuites(
      [...timed([100, 101, 99, 100]), countedRun(13_000)],
      [...timed([100, 99, 101, 100]), countedRun(16_000)],
      vary,
    );
    expect(rowOf(report, 'instructionsPerMsg')).toMatchObject({ verdict: 'unstable' });
    expect(rowOf(report, 'instructionsPerMsg').note).toMatch(/vary between fresh processes .*measured: 13\.0k–16\.7k/);
    expect(rowOf(report, 'throughput').informational).toBeUndefined();
    expect(gateFails(report, false).fails).toBe(false);
    const slower = compareSuites(
      [...timed([100, 101, 99, 100]), countedRun(13_000)],
      [...timed([70, 71, 69, 70]), countedRun(13_000)],
      vary,
    );
    expect(gateFails(slower, false).fails).toBe(true);
  });

  it('a model whose processes spread wider gets its own instruction threshold (1.5 × its spread)', () => {
    const base = [countedRun(13_000)];
    const cur = [countedRun(13_650)]; // +5 %
    expect(rowOf(compareSuites(base, cur, opts), 'instructionsPerMsg').verdict).toBe('regression');
    const wide = { ...opts, instructionThresholds: new Map([['a', 0.081]]) };
    expect(rowOf(compareSuites(base, cur, wide), 'instructionsPerMsg').verdict).toBe('same');
    expect(rowOf(compareSuites(base, [countedRun(14_300)], wide), 'instructionsPerMsg').verdict).toBe('regression');
    // Per workload: the cell's own key wins over the model's.
    const perWorkload = {
      ...opts,
      instructionThresholds: new Map([
        ['a', 0.081],
        [`a/${base[0]!.workload}`, 0.02],
      ]),
    };
    expect(rowOf(compareSuites(base, cur, perWorkload), 'instructionsPerMsg').verdict).toBe('regression');
  });

  it('measured spreads become thresholds per cell: 1.5 × the spread, at least 1 %; an unmeasured workload takes the widest', () => {
    const t = instructionThresholds([
      { model: 'm', workload: 'echo', spread: 0.049 },
      { model: 'm', workload: 'cpu', spread: 0.004 },
    ]);
    expect(t.get('m/echo')).toBeCloseTo(1.5 * 0.049, 6);
    expect(t.get('m/cpu')).toBe(0.01);
    expect(t.get('m')).toBeCloseTo(1.5 * 0.049, 6);
    expect(t.has('n')).toBe(false);
    expect(INSTRUCTION_THRESHOLDS.get('worker-threads/echo')).toBeCloseTo(1.5 * 0.0149, 6);
    expect(INSTRUCTION_THRESHOLDS.has('cluster-rr')).toBe(false);
  });

  it('counted only (no timed run): one counted run a side decides instructions and syscalls alike', () => {
    const counted = (instructionsPerMsg: number, syscallsPerMsg: number): RunRecord => {
      const r = fakeRecord({ model: 'a', msgsPerSec: 1000, run: 0, instructionsPerMsg });
      if (r.status === 'ok' && r.counts) r.counts.syscalls = syscallsPerMsg * r.counts.messages;
      return r;
    };
    const same = compareSuites([counted(13_900, 2.01)], [counted(13_950, 2.01)], opts);
    expect(rowOf(same, 'instructionsPerMsg').verdict).toBe('same');
    expect(rowOf(same, 'syscallsPerMsg').verdict).toBe('same');
    expect(gateFails(same, false).fails).toBe(false);
    const split = compareSuites([counted(13_900, 2.01)], [counted(14_000, 3.01)], opts);
    expect(rowOf(split, 'syscallsPerMsg').verdict).toBe('regression');
    expect(gateFails(split, false).fails).toBe(true);
  });

  it('a metric is compared only between samples of one source: timed with timed, counted with counted', () => {
    // The saved-baseline case that failed identical code: the baseline's timed syscalls (1.88) against the head's
    // counted ones (2.01 under callgrind, every timed run of the head set aside beside a busy neighbour).
    const counted = (syscallsPerMsg: number): RunRecord => {
      const r = fakeRecord({ model: 'a', msgsPerSec: 1000, run: 9, instructionsPerMsg: 13_900 });
      if (r.status === 'ok' && r.counts) r.counts.syscalls = syscallsPerMsg * r.counts.messages;
      return r;
    };
    const setAside = timed([100, 101, 99, 100], { syscallsPerMsg: 2.3 }).map(
      (r) => ({ ...r, discarded: 'other processes used 99% of a CPU' }) as RunRecord,
    );
    const both = compareSuites(
      [...timed([100, 101, 99, 100], { syscallsPerMsg: 1.88 }), counted(2.01)],
      [...setAside, counted(2.01)],
      opts,
    );
    expect(rowOf(both, 'syscallsPerMsg')).toMatchObject({ verdict: 'same', counted: true });
    expect(gateFails(both, false).fails).toBe(false);
    // Where both sides have counted windows, those decide the count even when both were timed too.
    const timedToo = compareSuites(
      [...timed([100, 101, 99, 100], { syscallsPerMsg: 1.88 }), counted(2.01)],
      [...timed([100, 101, 99, 100], { syscallsPerMsg: 2.2 }), counted(2.01)],
      opts,
    );
    expect(rowOf(timedToo, 'syscallsPerMsg')).toMatchObject({ verdict: 'same', counted: true });
    // One side timed only, the other counted only: not compared, and said so.
    const apart = compareSuites(
      timed([100, 101, 99, 100], { syscallsPerMsg: 1.88 }),
      [...setAside, counted(2.01)],
      opts,
    );
    expect(apart.rows.some((r) => r.metric === 'syscallsPerMsg')).toBe(false);
    expect(apart.dropped).toContainEqual(
      expect.objectContaining({
        metric: 'syscallsPerMsg',
        reason: expect.stringMatching(/the baseline has only timed runs of it, the current suite only counted/),
      }),
    );
  });

  it('three counted processes a side are judged by their medians: one process at a level of its own moves nothing, a change in every process fails', () => {
    const counted = (values: number[]) =>
      values.map((v, run) => fakeRecord({ model: 'a', msgsPerSec: 1000, run, instructionsPerMsg: v }));
    const base = counted([13_760, 13_790, 13_775]);
    // The A/A case measured here: one head process 3.5 % high in every window; its mean would be +1.2 %, its median is not moved.
    const outlier = rowOf(compareSuites(base, counted([14_250, 13_770, 13_800]), opts), 'instructionsPerMsg');
    expect(outlier).toMatchObject({ verdict: 'same', counted: true, current: 13_800 });
    expect(outlier.note).toMatch(/median of 3 counted processes a side/);
    const real = rowOf(compareSuites(base, counted([14_120, 14_100, 14_600]), opts), 'instructionsPerMsg'); // +2.4 %
    expect(real.verdict).toBe('regression');
    expect(real.change).toBeCloseTo(14_120 / 13_775 - 1, 6);
  });

  it('an extra write per message shows in syscalls/msg and fails the gate without any instruction count', () => {
    const base = [2.0, 1.98, 2.02, 2.0].map((sc, run) =>
      fakeRecord({ model: 'a', msgsPerSec: 100, run, syscallsPerMsg: sc }),
    );
    const more = [3.0, 2.97, 3.02, 3.0].map((sc, run) =>
      fakeRecord({ model: 'a', msgsPerSec: 100, run, syscallsPerMsg: sc }),
    );
    const report = compareSuites(base, more, opts);
    expect(rowOf(report, 'syscallsPerMsg')).toMatchObject({ verdict: 'regression' });
    expect(gateFails(report, false).why).toMatch(/read\+write syscalls\/msg/);
  });

  it('context switches are reported, never gated: the scheduler moves them run to run', () => {
    // Per message, run by run: a busy server preempted once a message in some windows (measured: native-epoll cpu
    // 0.001–0.004 in 13 runs of 20, 0.51–1.00 in 7), identical code on both sides.
    const switching = (perMsg: number[], cpuPercent: number[] = perMsg.map(() => 90)) =>
      perMsg.map((s, run) => {
        const r = fakeRecord({ model: 'a', msgsPerSec: 1000, run, serverCpuPercent: cpuPercent[run]! });
        return r.status === 'ok'
          ? {
              ...r,
              server: {
                ...r.server,
                usage: { ...r.server.usage!, contextSwitches: { voluntary: 0, involuntary: s * 1000 } },
              },
            }
          : r;
      });
    const base = switching([0.003, 0.5, 0.003, 1.0]);
    const undecided = compareSuites(base, switching([1.0, 0.003, 0.5, 0.5]), opts);
    expect(rowOf(undecided, 'ctxSwitchesPerMsg')).toMatchObject({
      verdict: 'inconclusive',
      gating: false,
      informational: true,
    });
    expect(gateFails(undecided, false).fails).toBe(false);
    // A change the statistics call a regression is shown as one, and does not fail the gate by itself…
    const moved = compareSuites(switching([0.01, 0.012, 0.011, 0.01]), switching([1.01, 1.02, 1.0, 1.01]), opts);
    expect(rowOf(moved, 'ctxSwitchesPerMsg')).toMatchObject({ verdict: 'regression', informational: true });
    expect(gateFails(moved, false).fails).toBe(false);
    expect(compareTable(moved, 10, 'PASS', true)).toMatch(/more \(report only\)/);
    // …while the CPU time a switch the code adds costs is what fails it.
    const costly = compareSuites(
      switching([0.01, 0.012, 0.011, 0.01]),
      switching([1.01, 1.02, 1.0, 1.01], [120, 121, 119, 120]),
      opts,
    );
    expect(gateFails(costly, false).why).toMatch(/server CPU µs\/msg/);
  });

  it('a change in context switches far below one per message is the same, whatever its ratio', () => {
    const withSwitches = (voluntary: number, involuntary: number) =>
      timed([100, 101, 99, 100]).map((r) =>
        r.status === 'ok'
          ? {
              ...r,
              server: { ...r.server, usage: { ...r.server.usage!, contextSwitches: { voluntary, involuntary } } },
            }
          : r,
      );
    expect(
      rowOf(compareSuites(withSwitches(0.4, 0.3), withSwitches(0.9, 0.6), opts), 'ctxSwitchesPerMsg').verdict,
    ).toBe('same');
  });
});

describe("an --against session measured in blocks (both sides' servers up together, taking turns)", () => {
  // The machine moves every round's figures by up to ±15 % for both sides alike; within a round the two sides agree
  // within 1 %: what blocks of alternating windows measured here (docs/gate.md).
  const machine = [1, 1.15, 0.88, 1.1, 0.9, 1.05];
  const within = [1.004, 0.995, 1.008, 0.993, 1.002, 0.997];
  const session = (headFactor: number, blocks: boolean, drop?: number) =>
    machine.flatMap((m, round) => {
      const common = {
        model: 'a',
        msgsPerSec: 1000,
        run: round,
        suiteId: 'one',
        saturated: true,
        ...(blocks ? { blockRound: round } : {}),
      };
      const base = fakeRecord({ ...common, side: 'base', serverCpuPercent: 50 * m });
      const head = fakeRecord({ ...common, side: 'head', serverCpuPercent: 50 * m * within[round]! * headFactor });
      return round === drop ? [base] : [base, head];
    });
  const cpuRow = (records: RunRecord[]) => {
    const base = records.filter((r) => r.side === 'base').map(({ side: _s, ...r }) => r as RunRecord);
    const head = records.filter((r) => r.side === 'head').map(({ side: _s, ...r }) => r as RunRecord);
    return rowOf(compareSuites(base, head, opts), 'cpuPerMsg');
  };

  it('compares the two runs of each block as a pair: the machine\'s movement cancels, so identical code is decided "same"', () => {
    const paired = cpuRow(session(1, true));
    expect(paired).toMatchObject({ verdict: 'same', paired: 6 });
    expect(paired.changeHigh - paired.changeLow).toBeLessThan(0.02);
    // The same figures as independent runs (no blocks): Welch's interval carries the machine's movement.
    const unpaired = cpuRow(session(1, false));
    expect(unpaired.paired).toBeUndefined();
    expect(unpaired.changeHigh - unpaired.changeLow).toBeGreaterThan(0.15);
  });

  it('a head 12 % dearer in every block is a regression; 5 % dearer is decided "same" at a 10 % threshold', () => {
    const worse = cpuRow(session(1.12, true));
    expect(worse).toMatchObject({ verdict: 'regression', paired: 6 });
    expect(worse.change).toBeCloseTo(0.12, 1);
    expect(cpuRow(session(1.05, true)).verdict).toBe('same');
  });

  it('a block with one side only (the other set aside or failed) drops out of the pairs', () => {
    expect(cpuRow(session(1, true, 2))).toMatchObject({ paired: 5, nBaseline: 6, nCurrent: 5 });
  });

  it('fewer than 3 blocks with both sides are too few to decide', () => {
    const two = session(1, true).filter((r) => r.run < 2);
    expect(cpuRow(two)).toMatchObject({
      verdict: 'inconclusive',
      note: expect.stringMatching(/needs ≥ 3 blocks with both sides \(has 2\)/),
    });
  });

  it('the table says how many pairs a row was judged on', () => {
    const records = session(1, true);
    const strip = (side: string) => records.filter((r) => r.side === side).map(({ side: _s, ...r }) => r as RunRecord);
    const [base, head] = [strip('base'), strip('head')];
    const gate = runGate(base, head, { thresholdPercent: 10, alpha: 0.05, allowInconclusive: false });
    expect(compareTable(gate.report, 10, gate.decision, true)).toMatch(/6 pairs/);
  });
});
