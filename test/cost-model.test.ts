/** The cost model's arithmetic, on synthetic micro records and cells: no timing is asserted. */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  COST_SHAPES,
  cpusGiven,
  predictCell,
  predictSuite,
  withinTolerance,
  type Prediction,
} from '../bench/judge/cost-model.js';
import { microRunOf } from '../bench/suite/render.js';
import { costModelOf } from '../bench/judge/judgement.js';
import { costModelText } from '../bench/format/cost-model.js';
import { costModelTables } from '../bench/format/cost-model.js';
import { MODELS } from '../servers/registry.js';
import type { CellSummary } from '../bench/judge/aggregate.js';
import { ENV } from './helpers/records.js';
import { cellOf, microRecord } from './helpers/micro.js';

const ECHO = {
  serverCpus: '0',
  workers: 1,
  clientSaturated: false,
  clientCpuPercent: 50,
  serverCpuPercent: 97,
} as const;
const CPU = {
  serverCpus: '0-1',
  workers: 2,
  clientSaturated: false,
  clientCpuPercent: 30,
  serverCpuPercent: 165,
  params: { work: 'cpu:200', pin: 'shared' as const },
};

const MICRO = [
  microRecord('piscina-task', '0', 30),
  microRecord('piscina-task', '0-1', 60),
  // Round trips of 80 and 100 µs wall (the helper's latency mean is the CPU figure given).
  microRecord('tcp-rtt', '0', 80, { cpuBySide: { client: 50, server: 30 } }),
  microRecord('tcp-rtt', '0-1', 100, { cpuBySide: { client: 60, server: 40 } }),
  // 32 fresh one-connection echo processes: 80 µs (one CPU) and 70 µs (two) of their CPU per frame.
  microRecord('tcp-rtt-32-procs', '0', 100, {
    cpuBySide: { client: 20, server: 80 },
    details: { processes: 32, framesPerProcess: 400 },
  }),
  microRecord('tcp-rtt-32-procs', '0-1', 85, {
    cpuBySide: { client: 15, server: 70 },
    details: { processes: 32, framesPerProcess: 600 },
  }),
  microRecord('handle-pass', '0', 100),
  microRecord('handle-pass', '0-1', 150),
  microRecord('thread-postmessage', '0', 20),
  microRecord('thread-start', '0', 9_000),
  microRecord('fork-start', '0', 80_000),
  microRecord('fork-start', '0-1', 90_000),
  // A burst of 32 children: 80 ms of CPU each.
  microRecord('fork-burst', '0', 32 * 80_000, { details: { children: 32 } }),
  microRecord('fork-burst', '0-1', 32 * 80_000, { details: { children: 32 } }),
  // 200 µs asked costs 210 alone and 220 with every CPU busy.
  microRecord('cpu-loop', '0-1', 210, { details: { targetUs: 200 } }),
  microRecord('cpu-loop-all-cpus', '0-1', 220, { details: { targetUs: 200 } }),
];

function withRate(cell: CellSummary, msgsPerSec: number): CellSummary {
  return { ...cell, throughput: { ...cell.throughput, median: msgsPerSec } };
}

describe('cost model', () => {
  const base = cellOf('event-loop', 'echo', { ...ECHO, serverCpuUsPerMsg: 10 });

  it('piscina = the event loop’s base + one task round trip on the same CPU set; capacity = usable CPUs / cost', () => {
    const cell = withRate(cellOf('piscina', 'echo', { ...ECHO, serverCpuUsPerMsg: 50 }), 20_000);
    const p = predictCell(cell, base, MICRO, 2);
    expect(p.kind).toBe('predicted');
    expect(p.terms).toEqual([
      { label: 'event-loop measured', us: 10 },
      { label: 'piscina-task', us: 30 },
    ]);
    expect(p.cpuUsPerMsg).toBe(40);
    expect(p.cpuError).toBeCloseTo(40 / 50 - 1);
    // One pool thread + the main thread, but one server CPU (separate pinning): 1 usable CPU.
    expect(p.usableCpus).toBe(1);
    expect(p.msgsPerSec).toBeCloseTo(1e6 / 40);
    expect(p.rateError).toBeCloseTo(1e6 / 40 / 20_000 - 1);
  });

  it('msgs/s is compared only where the predicted limit was the real one', () => {
    const clientBound = predictCell(
      cellOf('piscina', 'echo', { ...ECHO, serverCpuUsPerMsg: 50, clientSaturated: true }),
      base,
      MICRO,
      2,
    );
    expect(clientBound.cpuError).toBeDefined();
    expect(clientBound.rateError).toBeUndefined();
    // Neither side saturated (server at 70 % of its one CPU): the capacity is only an upper bound.
    const idle = predictCell(
      cellOf('piscina', 'echo', { ...ECHO, serverCpuUsPerMsg: 50, serverCpuPercent: 70 }),
      base,
      MICRO,
      2,
    );
    expect(idle.msgsPerSec).toBeCloseTo(1e6 / 40);
    expect(idle.rateError).toBeUndefined();
    const text = costModelTables([idle], true);
    expect(text).toContain(
      'msgs/s not compared where neither side was saturated (server CPU < 90 % of its usable CPUs): piscina on echo (70%)',
    );
  });

  it('iterative = a one-connection echo’s server side + the cpu: work; its pace is one round trip at a time', () => {
    const cell = withRate(
      cellOf('iterative', 'cpu', { ...CPU, workers: 1, serverCpuUsPerMsg: 250, serverCpuPercent: 70 }),
      3000,
    );
    const p = predictCell(cell, undefined, MICRO, 2);
    expect(p.terms.map((t) => t.us)).toEqual([40, 210]);
    expect(p.cpuUsPerMsg).toBe(250);
    expect(p.cpuError).toBe(0);
    expect(p.usableCpus).toBe(1);
    // Round trip 100 µs wall + the loop's 210 µs wall for 200 asked: 1e6 / 310 msgs/s, below the CPU's 1e6 / 250.
    expect(p.bound).toBe('latency');
    expect(p.msgsPerSec).toBeCloseTo(1e6 / 310);
    expect(p.rateError).toBeCloseTo(1e6 / 310 / 3000 - 1); // compared although the CPU was not saturated
  });

  it('a parallel model doing cpu: work pays the loop’s every-CPU-busy cost; usable CPUs lose the client’s share', () => {
    const cpuBase = cellOf('event-loop', 'cpu', { ...CPU, workers: 1, serverCpuUsPerMsg: 215 });
    const cell = cellOf('worker-threads', 'cpu', { ...CPU, serverCpuUsPerMsg: 240 });
    const p = predictCell(cell, cpuBase, MICRO, 2);
    expect(p.terms.map((t) => t.label)).toEqual(['event-loop measured', 'cpu:200 extra with every CPU busy']);
    expect(p.terms[1]!.us).toBeCloseTo(220 - 210);
    expect(cpusGiven(cell, 2)).toBeCloseTo(2 - 0.3);
    expect(p.usableCpus).toBeCloseTo(1.7);
    expect(p.msgsPerSec).toBeCloseTo((1.7 * 1e6) / 225);
    // The same model with one worker runs its work alone: no adjustment.
    const one = predictCell({ ...cell, workers: 1 }, cpuBase, MICRO, 2);
    expect(one.terms).toHaveLength(1);
  });

  it('per-connection costs count per message only when every request opens a connection', () => {
    const persistent = predictCell(cellOf('fork-pool', 'echo', { ...ECHO, serverCpuUsPerMsg: 12 }), base, MICRO, 2);
    expect(persistent.cpuUsPerMsg).toBe(10);
    expect(persistent.perConnectionUs).toBe(100);
    const cprBase = cellOf('event-loop', 'cpr', {
      ...ECHO,
      serverCpuUsPerMsg: 40,
      params: { pattern: 'connect-per-request' },
    });
    const perRequest = predictCell(
      cellOf('fork-pool', 'cpr', { ...ECHO, serverCpuUsPerMsg: 150, params: { pattern: 'connect-per-request' } }),
      cprBase,
      MICRO,
      2,
    );
    expect(perRequest.cpuUsPerMsg).toBe(140);
    expect(perRequest.terms.at(-1)).toEqual({ label: 'per connection (handle-pass)', us: 100 });
  });

  it('fork-per-connection: its children start together at the warm-up; nothing is answered if that outlasts the window', () => {
    const cell = cellOf('fork-per-connection', 'echo', {
      ...ECHO,
      workers: 32,
      serverCpuUsPerMsg: NaN,
      params: { connections: 50 },
    });
    const starved = predictCell(cell, base, MICRO, 2, { warmupSec: 0.5, windowSec: 1.5 });
    // 32 children × 80 ms of CPU on 1 CPU = 2.56 s ≥ 2 s.
    expect(starved.startup).toEqual({ children: 32, seconds: 2.56, starved: true, overCap: 18 });
    expect(starved).toMatchObject({ kind: 'predicted', bound: 'start-up', msgsPerSec: 0 });
    expect(starved.cpuUsPerMsg).toBeUndefined();
    expect(predictCell(cell, base, MICRO, 2).reason).toBe(
      "needs the run's warm-up and window (npm run bench passes them)",
    );
  });

  it('fork-per-connection: start-up CPU spent inside the window is spread over the messages answered after it', () => {
    const cpuBase = cellOf('event-loop', 'cpu', { ...CPU, workers: 1, serverCpuUsPerMsg: 215 });
    const cell = cellOf('fork-per-connection', 'cpu', {
      ...CPU,
      workers: 32,
      clientCpuPercent: 0,
      serverCpuUsPerMsg: 900,
      params: { ...CPU.params, connections: 50 },
    });
    const p = predictCell(cell, cpuBase, MICRO, 2, { warmupSec: 0.5, windowSec: 1.5 });
    // 2.56 s of start-up CPU on 2 CPUs: ready at 1.28 s. Steady cost: 32 processes' echo 70 + the loop with every CPU
    // busy 220 = 290 µs → 2e6 / 290 msgs/s for 0.72 s.
    const messages = (2e6 / 290) * 0.72;
    expect(p.startup).toEqual({
      children: 32,
      seconds: 1.28,
      starved: false,
      overCap: 18,
      framesPerChild: messages / 32,
    });
    const startupInWindow = 2.56e6 * (0.78 / 1.28);
    expect(p.terms.map((t) => t.label)).toEqual([
      '32 fresh one-connection processes (600 frames each), server side',
      'cpu:200 work, every CPU busy',
      'start-up CPU inside the window',
    ]);
    expect(p.terms.at(-1)!.us).toBeCloseTo(startupInWindow / messages);
    expect(p.cpuUsPerMsg).toBeCloseTo(290 + startupInWindow / messages);
    expect(p.msgsPerSec).toBeCloseTo(messages / 1.5);
    expect(p.bound).toBe('start-up');
  });

  it('fork-per-connection, persistent: every message is one frame for its own process, priced by the many-process echo', () => {
    const cell = withRate(
      cellOf('fork-per-connection', 'echo', {
        ...ECHO,
        workers: 32,
        serverCpuUsPerMsg: 100,
        readyWaitSec: 3,
        params: { connections: 50 },
      }),
      12_000,
    );
    const p = predictCell(cell, base, MICRO, 2, { warmupSec: 0.5, windowSec: 1.5 });
    // Ready after 2.56 s, before the window opens at 0.5 + 3 s: no start-up CPU inside it, and not the event loop's 10.
    expect(p.terms).toEqual([{ label: '32 fresh one-connection processes (400 frames each), server side', us: 80 }]);
    expect(p.cpuUsPerMsg).toBe(80);
    expect(p.cpuError).toBeCloseTo(80 / 100 - 1);
    expect(p.msgsPerSec).toBeCloseTo(1e6 / 80);
    expect(p.startup!.framesPerChild).toBeCloseTo(((1e6 / 80) * 1.5) / 32);
    expect(costModelTables([p], true)).toContain(
      `~${Math.round(((1e6 / 80) * 1.5) / 32)} frames per child inside the window`,
    );
    // One connection: one child, which is the one-connection echo.
    const one = predictCell(
      cellOf('fork-per-connection', 'c1', { ...ECHO, workers: 32, params: { connections: 1 } }),
      base,
      MICRO,
      2,
      { warmupSec: 0.5, windowSec: 1.5 },
    );
    expect(one.terms[0]).toEqual({ label: 'one-connection echo, server side', us: 30 });
    // Another number of children than the micro measured, another protocol, or no micro run: said, not guessed.
    const ten = predictCell(
      cellOf('fork-per-connection', 'c10', { ...ECHO, workers: 32, params: { connections: 10 } }),
      base,
      MICRO,
      2,
      { warmupSec: 0.5, windowSec: 1.5 },
    );
    expect(ten).toMatchObject({
      kind: 'not-predicted',
      reason: 'the tcp-rtt-32-procs micro-benchmark ran 32 processes, this cell 10 children',
    });
    const http = predictCell(
      cellOf('fork-per-connection', 'echo', { ...ECHO, workers: 32, params: { protocol: 'http' } }),
      base,
      MICRO,
      2,
      { warmupSec: 0.5, windowSec: 1.5 },
    );
    expect(http.reason).toBe('the per-process echo micro-benchmarks are measured over TCP only');
    const none = predictCell(
      cell,
      base,
      MICRO.filter((r) => r.id !== 'tcp-rtt-32-procs'),
      2,
      { warmupSec: 0.5, windowSec: 1.5 },
    );
    expect(none.reason).toBe('no tcp-rtt-32-procs micro-benchmark on CPUs 0');
  });

  it('fork-per-connection, a connection per request: the event loop’s base plus a process start and a handle pass', () => {
    const cprBase = cellOf('event-loop', 'cpr', {
      ...ECHO,
      serverCpuUsPerMsg: 40,
      params: { pattern: 'connect-per-request', connections: 10 },
    });
    const cell = cellOf('fork-per-connection', 'cpr', {
      ...ECHO,
      workers: 32,
      serverCpuUsPerMsg: 90_000,
      params: { pattern: 'connect-per-request', connections: 10 },
    });
    const p = predictCell(cell, cprBase, MICRO, 2, { warmupSec: 0.5, windowSec: 1.5 });
    expect(p.terms).toEqual([
      { label: 'event-loop measured', us: 40 },
      { label: 'per connection (fork-start + handle-pass)', us: 80_100 },
    ]);
    expect(p.startup).toBeUndefined();
  });

  it('thread-per-connection: the event loop’s base plus a relay round trip per message, and a thread start per connection', () => {
    const persistent = predictCell(
      cellOf('thread-per-connection', 'echo', { ...ECHO, workers: 32, serverCpuUsPerMsg: 35 }),
      base,
      MICRO,
      2,
    );
    expect(persistent.terms).toEqual([
      { label: 'event-loop measured', us: 10 },
      { label: 'thread-postmessage', us: 20 },
    ]);
    expect(persistent.cpuUsPerMsg).toBe(30);
    const cprBase = cellOf('event-loop', 'cpr', {
      ...ECHO,
      serverCpuUsPerMsg: 40,
      params: { pattern: 'connect-per-request', connections: 10 },
    });
    const perRequest = predictCell(
      cellOf('thread-per-connection', 'cpr', {
        ...ECHO,
        workers: 32,
        serverCpuUsPerMsg: 9_000,
        params: { pattern: 'connect-per-request', connections: 10 },
      }),
      cprBase,
      MICRO,
      2,
    );
    expect(perRequest.terms).toEqual([
      { label: 'event-loop measured', us: 40 },
      { label: 'thread-postmessage', us: 20 },
      { label: 'per connection (thread-start)', us: 9_000 },
    ]);
  });

  it('says what is missing instead of inventing a cost; the base is an input; the native row is not modelled', () => {
    const onOtherCpus = predictCell(cellOf('piscina', 'echo', { ...ECHO, serverCpus: '1' }), base, MICRO, 2);
    expect(onOtherCpus).toMatchObject({ kind: 'not-predicted', reason: 'no piscina-task micro-benchmark on CPUs 1' });
    expect(onOtherCpus.cpuUsPerMsg).toBeUndefined();
    expect(predictCell(cellOf('cluster-rr', 'echo', ECHO), undefined, MICRO, 2).reason).toBe(
      'no measured event-loop cell in this workload',
    );
    expect(predictCell(base, base, MICRO, 2)).toMatchObject({ kind: 'input', cpuUsPerMsg: 10 });
    expect(predictCell(cellOf('native-epoll', 'echo', ECHO), base, MICRO, 2).kind).toBe('not-predicted');
    expect(
      predictCell(cellOf('cluster-rr', 'block', { ...ECHO, params: { work: 'block:5' } }), base, MICRO, 2).reason,
    ).toMatch(/not CPU per message/);
  });

  it('has a cost shape for every registered model', () => {
    expect(Object.keys(COST_SHAPES).sort()).toEqual(MODELS.map((m) => m.name).sort());
  });

  it('predicts each covered cell of a suite against its own workload’s base, and counts the ±25 % hits', () => {
    const cells = [
      base,
      withRate(cellOf('piscina', 'echo', { ...ECHO, serverCpuUsPerMsg: 50 }), 20_000),
      cellOf('cluster-none', 'echo', { ...ECHO, serverCpuUsPerMsg: 11 }),
      cellOf('cluster-none', 'open', { ...ECHO, params: { rate: 5000 } }),
    ];
    const predictions = predictSuite(cells, MICRO, 2);
    expect(predictions.map((p) => [p.model, p.kind])).toEqual([
      ['event-loop', 'input'],
      ['piscina', 'predicted'],
      ['cluster-none', 'predicted'],
    ]);
    const { within, compared } = withinTolerance(predictions);
    expect(compared.map((p) => p.model)).toEqual(['piscina', 'cluster-none']);
    expect(within.map((p) => p.model)).toEqual(['piscina', 'cluster-none']); // −20 % and −9 %
    const text = costModelTables(predictions, true);
    expect(text).toContain('tcp/echo (server CPUs 0)');
    expect(text).toMatch(/piscina[\s│]+40\.00[\s│]+50\.00[\s│]+−20%/);
    expect(text).toContain('event-loop measured 10.00 + piscina-task 30.00');
    expect(text).toContain('within ±25 % (server CPU µs/msg): 2 of 2 predicted Node cells');
  });

  it('the bench’s report reads the newest micro run, and says in one line when there is none', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'conbench-cost-'));
    const cells = [base, cellOf('piscina', 'echo', { ...ECHO, serverCpuUsPerMsg: 50 })];
    const costModelReport = (c: typeof cells, at: string, o: { env: typeof ENV; plain: boolean }): string =>
      costModelText({ env: o.env, costModel: costModelOf(c, microRunOf(at), o.env.cores) }, o.plain);
    const none = costModelReport(cells, root, { env: ENV, plain: true });
    expect(none.split('\n')).toHaveLength(1);
    expect(none).toMatch(/no micro-benchmark records .* run `npm run bench:micro`/);
    mkdirSync(path.join(root, 'micro', 'm1'), { recursive: true });
    writeFileSync(
      path.join(root, 'micro', 'm1', 'records.jsonl'),
      MICRO.map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    writeFileSync(path.join(root, 'micro', 'LATEST'), 'm1\n');
    const report = costModelReport(cells, root, { env: ENV, plain: true });
    expect(report).toContain(`micro-costs from ${path.join(root, 'micro', 'm1')}`);
    expect(report).toContain('piscina-task 30.00');
    expect(report).not.toContain('⚠ the micro run was made');
    const elsewhere = costModelReport(cells, root, { env: { ...ENV, cpuModel: 'other cpu' }, plain: true });
    expect(elsewhere).toContain('⚠ the micro run was made with CPU test cpu');
  });

  it('formats a not-predicted row with its reason and a start-up bound row with its arithmetic', () => {
    const p: Prediction = predictCell(
      cellOf('fork-per-connection', 'echo', { ...ECHO, workers: 32, params: { connections: 50 } }),
      base,
      MICRO,
      2,
      { warmupSec: 0.5, windowSec: 1.5 },
    );
    const text = costModelTables([p], true);
    expect(text).toContain(
      'start-up: 32 children at once, ready after 2.56 s on 1.0 CPU, after the window: nothing answered; 18 connection(s) over the cap never served',
    );
    expect(text).toMatch(/fork-per-connection[\s│]+no msgs/);
  });
});
