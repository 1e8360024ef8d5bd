/**
 * Counting mechanics: the driver's counted windows (exact frames per connection between quiet points), the dump
 * parsing and the schedule's pure rules, then callgrind itself on a small cell (skipped with its reason where
 * valgrind is missing): a window's instructions, the whole tree summed (a forked child's counts included), and the
 * syscall counters every timed run reads. Counts, not timings: nothing here depends on how busy the machine is.
 */
import { testContext } from './helpers/context.js';
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  countCell,
  countedConnections,
  driverAtFifo,
  countExclusion,
  countsUnavailable,
  dumpInstructions,
  dumpTree,
  grownFrames,
  instrumentTree,
  settledBlocks,
  zeroTree,
  type CountSchedule,
} from '../bench/run/counts.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import pidtree from 'pidtree';
import os from 'node:os';
import path from 'node:path';
import { modelSubject, type CellContext } from '../bench/run/run-cell.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { startServerSampler } from '../bench/run/sampler.js';
import { findModel } from '../servers/registry.js';
import { expandFamily } from '../bench/data/matrix.js';
import { FAMILIES } from '../bench/data/workloads.js';
import { nativeStatus, TCP_LOAD } from '../lib/native.js';
import { runNativeTcpLoad } from '../clients/native-tcp.js';

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});
const echo = expandFamily(FAMILIES.find((f) => f.name === 'echo')!)[0]!;

describe('the schedule decides on counts', () => {
  it("reads a dump file's summary (totals repeats it)", () => {
    expect(dumpInstructions('events: Ir\nsummary: 123456\ntotals: 123456\n')).toBe(123456);
    expect(dumpInstructions('events: Ir\ntotals: 42\n')).toBe(42);
    expect(dumpInstructions('nothing')).toBe(0);
  });

  it('settled: a block of windows within the spread of the block before, whatever the pattern inside a block', () => {
    const w = (perMsg: number[]) => perMsg.map((p) => ({ instructions: p * 100, messages: 100 }));
    expect(settledBlocks(w([11_700, 13_900, 13_900, 11_700, 13_900, 13_900]), 3, 0.005)).toBe(true);
    expect(settledBlocks(w([120_000, 60_000, 14_000, 13_900, 13_950, 13_900]), 3, 0.05)).toBe(false);
    expect(settledBlocks(w([13_900, 13_900]), 3, 0.05)).toBe(false);
  });

  it('a window grows in one step to the power-of-two multiple of K that holds the instructions asked', () => {
    const S = { windowInstructions: 25_000_000, maxWindowFrames: 100_000 };
    expect(grownFrames(20, 2_740_000, S)).toBe(320); // event-loop echo: 200 messages of 13.7k → 3,200 messages
    expect(grownFrames(320, 43_800_000, S)).toBe(320); // already large enough
    expect(grownFrames(20, 6_000, S)).toBe(81_920); // stops at the largest doubling within maxWindowFrames
  });

  it('counted windows use at most 10 connections, one for a one-at-a-time model, two children for a process per connection', () => {
    const ctx = {} as CellContext;
    expect(countedConnections(modelSubject(findModel('event-loop')), echo, ctx)).toBe(10);
    expect(countedConnections(modelSubject(findModel('iterative')), echo, ctx)).toBe(1);
    expect(countedConnections(modelSubject(findModel('fork-per-connection')), echo, ctx)).toBe(2);
  });

  it('what cannot be counted says why', () => {
    expect(countExclusion({ ...echo, rate: 5000 }, { name: 'event-loop', runtime: 'node' })).toMatch(
      /open-loop rate cannot be held/,
    );
    expect(countExclusion({ ...echo, protocol: 'http' }, { name: 'event-loop', runtime: 'node' })).toMatch(
      /http is not counted/,
    );
    expect(countExclusion({ ...echo, work: 'cpu:200' }, { name: 'native-epoll', runtime: 'native' })).toMatch(
      /spins for a time/,
    );
  });
});

const driver = nativeStatus(TCP_LOAD);
describe.skipIf(!driver.ok)(
  `the driver's counted windows${driver.ok ? '' : ` (skipped: ${driver.ok ? '' : driver.reason})`}`,
  () => {
    it('runs exactly K frames per connection between quiet points, K set by each "go K"', async () => {
      const s = await startServer({ model: 'event-loop' });
      servers.push(s);
      const d = spawn(
        driver.ok ? driver.path : 'false',
        [
          '--target',
          `127.0.0.1:${s.ready.port}`,
          '--connections',
          '3',
          '--in-flight',
          '2',
          '--window-frames',
          '5',
          '--warmup',
          '0.1',
          '--timeout',
          '5000',
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const lines: string[] = [];
      const quiet = new Promise<void>((resolve) =>
        createInterface({ input: d.stdout! }).on('line', (l) => {
          lines.push(l);
          if (l.startsWith('CONBENCH_QUIET')) resolve();
        }),
      );
      await quiet;
      d.stdin!.write('go\ngo 40\nstop\n');
      await new Promise((r) => d.once('exit', r));
      const windows = lines
        .filter((l) => l.startsWith('CONBENCH_COUNTED '))
        .map((l) => JSON.parse(l.slice(17)) as { messages: number; expected: number; quiet: boolean });
      expect(windows.map((w) => [w.messages, w.expected, w.quiet])).toEqual([
        [15, 15, true],
        [120, 120, true],
      ]);
      expect(lines.at(-1)).toMatch(/^CONBENCH_COUNTED_DONE \{"windows":2,"messages":135\}/);
    });

    it('the sampler counts read and write syscalls per message of a server tree (about one each per echo)', async () => {
      const s = await startServer({ model: 'cluster-rr', workers: 1 });
      servers.push(s);
      let usage: ReturnType<Awaited<ReturnType<typeof startServerSampler>>['finish']> | undefined;
      let sampler: ReturnType<typeof startServerSampler> | undefined;
      const r = await runNativeTcpLoad({
        host: '127.0.0.1',
        port: s.ready.port,
        connections: 4,
        inFlight: 1,
        payloadBytes: 64,
        pattern: 'persistent',
        warmupSec: 0.2,
        durationSec: 0.5,
        timeoutMs: 5000,
        onPhase: (p) =>
          p === 'measure' ? (sampler = startServerSampler(s.pid)) : (usage = sampler!.then((x) => x.finish())),
      });
      const u = (await usage)!;
      expect(u.processes).toBe(2); // primary and worker
      const perMsg = (u.syscalls!.read + u.syscalls!.write) / r.messages;
      expect(perMsg).toBeGreaterThan(0.5);
      expect(perMsg).toBeLessThan(6);
      // Counted per thread of both processes, whole numbers, and bounded by what the exchange can cause.
      const switches = u.contextSwitches!.voluntary + u.contextSwitches!.involuntary;
      expect(Number.isInteger(switches)).toBe(true);
      expect(switches).toBeLessThan(r.messages * 10 + 1000);
    });
  },
);

const unavailable = countsUnavailable();
const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
};
/** A schedule small enough for a test: a few windows, no waiting for the JIT. */
const SMALL: CountSchedule = {
  uninstrumentedMessages: 0,
  minWindowMessages: 20,
  windowInstructions: 1,
  maxWindowFrames: 10,
  jitMessages: 0,
  settleWindows: 1,
  warmSpread: 1,
  fixedSettleWindows: 1,
  settleSpread: 1,
  maxWarmWindows: 3,
  windows: 2,
};

describe.skipIf(unavailable !== undefined)(
  `callgrind on a small cell${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const ctx = (): CellContext => testContext({ warmupSec: 0, durationSec: 1, timeoutMs: 5000 });

    it("native-epoll: a window's instructions per message, the same in two fresh processes", async () => {
      const runs = [];
      for (const i of [0, 1])
        runs.push(await countCell(modelSubject(findModel('native-epoll')), echo, i, ctx(), undefined, SMALL));
      for (const r of runs) {
        expect(r.status, r.reason).toBe('ok');
        if (r.status !== 'ok') return;
        expect(r.counts!.messages).toBe(2 * 10 * Number(r.server.details!.windowFrames));
        expect(r.counts!.instructions / r.counts!.messages).toBeGreaterThan(50);
        expect(r.counts!.processes).toBe(1);
        // The driver answers before any ordinary process where chrt -f is permitted (root here and in CI).
        expect(r.server.details!.driverPolicy).toBe(driverAtFifo() ? 'SCHED_FIFO' : 'SCHED_OTHER');
      }
      const perMsg = runs.map((r) => (r.status === 'ok' ? r.counts!.instructions / r.counts!.messages : NaN));
      // Windows this small (K ≤ 10 frames a connection) carry each epoll wakeup's cost, and how many frames a wakeup
      // finds follows timing: two processes measured 5.5 % apart in a CI run beside other tests. A count summed from the
      // wrong processes or windows would be off by 2× or more.
      expect(Math.abs(perMsg[0]! / perMsg[1]! - 1)).toBeLessThan(0.25);
    }, 60_000);

    it('native-epoll started uninstrumented: counted only once switched on, at the count of one instrumented from the start', async () => {
      const later = await countCell(modelSubject(findModel('native-epoll')), echo, 0, ctx(), undefined, {
        ...SMALL,
        uninstrumentedMessages: 200,
      });
      const fromStart = await countCell(modelSubject(findModel('native-epoll')), echo, 1, ctx(), undefined, SMALL);
      for (const r of [later, fromStart]) expect(r.status, r.reason).toBe('ok');
      if (later.status !== 'ok' || fromStart.status !== 'ok') return;
      expect(later.counts!.messages).toBe(2 * 10 * Number(later.server.details!.windowFrames));
      const perMsg = (r: typeof later): number => r.counts!.instructions / r.counts!.messages;
      // Switched off, a process counts nothing: a missing switch-on would read ~0 instructions a message.
      expect(Math.abs(perMsg(later) / perMsg(fromStart) - 1)).toBeLessThan(0.25);
    }, 60_000);

    it.each([
      ['instrumented from the start', false],
      ['started uninstrumented and switched on', true],
    ])(
      'a traced tree is summed over its processes: a shell and the child it forked, each dumped (%s)',
      async (_label, later) => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-cgtree-'));
        // sh forks a child that hashes stdin until it closes; both run under callgrind (--trace-children), as a model's
        // workers do.
        const tree = spawn(
          'valgrind',
          [
            '--tool=callgrind',
            `--callgrind-out-file=${dir}/cg.%p`,
            '--trace-children=yes',
            ...(later ? ['--instr-atstart=no'] : []),
            'sh',
            '-c',
            'exec 3<&0; md5sum <&3 >/dev/null & echo started; wait',
          ],
          { stdio: ['pipe', 'pipe', 'ignore'] },
        );
        try {
          await new Promise<void>((resolve, reject) => {
            tree.stdout!.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
            tree.once('exit', (code) => reject(new Error(`exited ${code}`)));
          });
          // Switched on before the child has exec'd md5sum, the new image would start uninstrumented again: wait for it.
          for (let i = 0; i < 200 && !(await pidtree(tree.pid!)).some((p) => cmdline(p).includes('md5sum')); i++)
            await new Promise((r) => setTimeout(r, 100));
          // The cmdline can name md5sum while valgrind is still loading it (measured: a busy machine read 0 instructions
          // in the busy window); a first 4 MiB consumed proves the image runs, so switching on cannot precede it.
          const write = (bytes: number): Promise<void> =>
            new Promise<void>((resolve) => tree.stdin!.write(Buffer.alloc(bytes, 1), () => resolve()));
          await write(4 << 20);
          const seen = new Set<string>();
          if (later) await instrumentTree(tree.pid!); // were the child left off, the busy window below would read ~0
          await zeroTree(tree.pid!, dir, seen);
          // The child hashes 4 MiB between two dumps: that window holds its work; the next, with nothing to copy, holds
          // almost nothing (each dump is what ran since the one before, summed over both processes).
          await write(4 << 20);
          const busy = await dumpTree(tree.pid!, dir, seen);
          expect(busy.processes.size).toBe(2);
          const idle = await dumpTree(tree.pid!, dir, seen);
          expect(idle.processes.size).toBe(2);
          expect(busy.instructions).toBeGreaterThan(10 * Math.max(idle.instructions, 1_000));
        } finally {
          // Closing stdin ends the child, and sh's `wait` with it; each writes its last dump into dir as it exits, so dir
          // is removed only once the whole tree is gone (removing it at kill() raced the child's dump: ENOTEMPTY in CI).
          const exited =
            tree.exitCode !== null || tree.signalCode !== null
              ? Promise.resolve()
              : new Promise<void>((resolve) => tree.once('exit', () => resolve()));
          tree.stdin!.end();
          const stop = setTimeout(() => tree.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(stop);
          rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
        }
      },
      60_000,
    );
  },
);
