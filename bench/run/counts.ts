/**
 * Counts that no neighbour moves (npm run bench -- --counts): a cell's server runs under valgrind's callgrind with
 * its whole process tree traced, and the native driver runs windows of exactly K frames per connection, each between
 * two quiet points (nothing in flight). Counters are zeroed at the first quiet point and dumped at every next one, so
 * each dump holds what the server executed for exactly that window's messages: instructions per message, summed over
 * every process of the tree (threads are inside their process). Windows are run until the count per message has
 * settled (the JIT warming up, measured per model), then `windows` more are the run's count.
 *
 * Under callgrind a server runs 50–400× slower than natively, so windows are sized by messages, not seconds, and the
 * count says nothing about time: a counted run is never a timed one.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import pidtree from 'pidtree';
import { hasCommand } from './env.js';
import type { CallgrindLaunch } from './server-process.js';
import { requestsOf, type CellContext, type CellSubject } from './run-cell.js';
import type { WorkloadGroup } from './orchestrator.js';
import type { Workload } from '../data/workloads.js';
import { RECORD_SCHEMA, type Counts, type RunRecord } from '../data/record.js';
import { nativeBinary, nativeStatus, TCP_LOAD } from '../../lib/native.js';
import { nativeLoadArgs, parseNativeLine, type NativeLine } from '../../clients/native-tcp.js';
import { spawnDriver } from '../../clients/spawn-driver.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { noErrors, sumErrors, type ErrorCounts, type LoadResult } from '../../clients/load-result.js';
import { START_TIMEOUT_SCALE_ENV } from '../../servers/models/supervise.js';

const run = promisify(execFile);

/**
 * Determinism settings, chosen by measurement (docs/counts.md): ASLR off, fixed V8 seeds, optimizing compiles
 * done on the main thread (--no-concurrent-recompilation) so that when optimized code arrives does not depend on
 * timing, and a heap whose size no clock decides; optimized code is kept (it is what production runs). Measured and not chosen: --predictable (two
 * alternating counts per window), --predictable-gc-schedule (GC moved to where it split windows unevenly).
 */
/** How many windows, how large, and when the count has settled: decided on counts, so the same code runs the same. */
export interface CountSchedule {
  /** Messages run with instrumentation off (callgrind's --instr-atstart=no) before the first counted window: the
   * server starts and its JIT warms ~3× faster uninstrumented and without dumps. 0: instrumented from the start. */
  uninstrumentedMessages: number;
  /** The first window holds at least this many messages; K then grows to hold windowInstructions. */
  minWindowMessages: number;
  /** Windows grow (by powers of two) until one holds this many instructions (~1 s under callgrind); then K is fixed. */
  windowInstructions: number;
  maxWindowFrames: number;
  /** The JIT has done its work when this many messages went through and small windows hold within ±warmSpread
   * by blocks of `settleWindows` (they are noisier: a GC is a larger share). */
  jitMessages: number;
  settleWindows: number;
  warmSpread: number;
  /** With K fixed: settled when blocks of `fixedSettleWindows` hold within ±settleSpread. */
  fixedSettleWindows: number;
  settleSpread: number;
  maxWarmWindows: number;
  /** Counted windows after it settled; the median of their counts per message is the run's count. */
  windows: number;
}

export const COUNTING = {
  noAslr: true,
  // A fixed young generation and no memory reducer: both size the heap by wall-clock time (the reducer's GCs
  // after idle time, the new space grown and shrunk around them), and time is what valgrind changes. With the warm-up
  // uninstrumented (3× faster than the counted windows) event-loop's echo settled at two levels, 13.7k and 14.3k
  // per message over 3 processes (4.0 %); with these flags 12,881–12,960 over 4 (0.6 %), iterative 0.5 %.
  nodeFlags: [
    '--hash-seed=1',
    '--random-seed=1',
    '--no-concurrent-recompilation',
    '--min-semi-space-size=16',
    '--max-semi-space-size=16',
    '--no-memory-reducer',
  ],
  /** Modified JIT code must be seen; workers and forked children are traced too. */
  valgrindArgs: ['--trace-children=yes', '--smc-check=all-non-file', '--fair-sched=try'],
  /** Connections a counted window uses at most, and children a process-per-connection model may start (each ~10 s
   * of CPU to start under valgrind). */
  maxConnections: 10,
  maxChildren: 2,
  /**
   * Spin iterations per µs for cpu:<µs> work: fixed, so a count does not follow the calibration's noise, and low
   * (cpu:200 is 2,000 iterations, ~30k instructions, beside ~14k for the echo itself): at a native rate the spin is
   * 95 % of the count and would hide a change in the model's own path, and costs 10× the time under valgrind.
   */
  cpuRate: 10,
  /** Workers, children or threads of a counted server: one. A message's count does not depend on how many share the
   * messages, but which worker gets which connection depends on timing (worker-threads' cpu cell counted 43.9k and
   * 77.2k per message in two processes with two threads, one of them never warm). */
  workers: 1,
  /** Counted cells at a time per CPU: a traced server is idle while its windows are dumped, so a second one fills the gap. */
  cellsPerCpu: 1.5,
  /** A frame unanswered this long under valgrind is a timeout (starting a traced Node child takes ~10 s). */
  timeoutMs: 120_000,
  readyTimeoutMs: 180_000,
  /** The models' own start-up timeouts (workers, children) are this many times longer under valgrind. */
  startTimeoutScale: 30,
  /**
   * The schedule (measured, docs/counts.md): event-loop's echo drops to its warm count after ~2,200 messages; GC and
   * some models' handoffs repeat a 2- or 3-window pattern, and the schedule is the same in every process of the same
   * code, so 8 counted windows land on the same phase of it each time, and their median does not follow a GC or a
   * late compile that lands in one of them.
   */
  schedule: {
    // Node starts in 4.0 s uninstrumented against 11.5 s instrumented here; counted from the start, every model's
    // windows reached their counted level within 9,000 messages (event-loop ~4,800; piscina and
    // thread-per-connection the last), and the fixed phase still checks that it holds.
    uninstrumentedMessages: 10_000,
    minWindowMessages: 200,
    windowInstructions: 25_000_000,
    maxWindowFrames: 100_000,
    jitMessages: 3000,
    settleWindows: 3,
    warmSpread: 0.05,
    fixedSettleWindows: 2,
    settleSpread: 0.03,
    maxWarmWindows: 40,
    windows: 8,
  } satisfies CountSchedule as CountSchedule,
} as const;

/** Counted cells run at once on `cpus` CPUs. */
export function countSlots(cpus: number): number {
  return Math.max(1, Math.round(cpus * COUNTING.cellsPerCpu));
}

/** A process's scheduling policy as /proc/PID/stat gives it (field 41), or undefined once it is gone. */
export function schedulingPolicy(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    return (
      (
        { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE' } as Record<
          number,
          string
        >
      )[policy] ?? `policy ${policy}`
    );
  } catch {
    return undefined;
  }
}

let fifoAllowed: boolean | undefined;
/** Whether this process may start the driver at SCHED_FIFO (chrt present; root or CAP_SYS_NICE). */
export function driverAtFifo(): boolean {
  fifoAllowed ??= hasCommand('chrt') && spawnSync('chrt', ['-f', '1', 'true']).status === 0;
  return fifoAllowed;
}

/** Why counting cannot run here (valgrind, callgrind_control, setarch or the native driver missing), or undefined. */
export function countsUnavailable(): string | undefined {
  for (const tool of ['valgrind', 'callgrind_control', 'setarch'])
    if (!hasCommand(tool)) return `${tool} is not installed (valgrind is a Debian package: apt-get install valgrind)`;
  const driver = nativeStatus(TCP_LOAD);
  if (!driver.ok) return `the native driver is needed to count in windows of known size: ${driver.reason}`;
  return undefined;
}

/** Why a cell is not counted (its load cannot be had under valgrind), or undefined. */
export function countExclusion(w: Workload, model: { name: string; runtime: string }): string | undefined {
  if (w.protocol !== 'tcp') return `counts use the native TCP driver; ${w.protocol} is not counted`;
  if (w.rate !== undefined) return 'an open-loop rate cannot be held by a server running 50–400× slower under valgrind';
  if (model.runtime === 'native' && w.work.startsWith('cpu'))
    return `${model.name}'s cpu work spins for a time, not a number of iterations: under valgrind its count would measure valgrind's speed`;
  return undefined;
}

/** Connections a counted window uses: at most COUNTING.maxConnections, and no more than the model serves at once. */
export function countedConnections(subject: CellSubject, w: Workload, ctx: CellContext): number {
  const cap = Math.min(w.connections, COUNTING.maxConnections);
  const atOnce = subject.servesAtOnce?.(cap, { ...ctx, maxChildren: COUNTING.maxChildren }) ?? cap;
  return Math.max(1, Math.min(cap, atOnce));
}

/** Instructions (callgrind's Ir) of one dump file: its summary line (totals: repeats it). */
export function dumpInstructions(text: string): number {
  const m = /^summary:\s+(\d+)/m.exec(text) ?? /^totals:\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Dumps every counted process of the tree under `root` and sums what the dumps written since `seen` hold: the
 * instructions the tree executed since the last dump (or zeroing), and from how many processes.
 */
export async function dumpTree(
  root: number,
  dir: string,
  seen: Set<string>,
): Promise<{ instructions: number; processes: Set<string>; pids: number[] }> {
  const pids = await control(root, ['-d']);
  await awaitDumps(dir, seen, pids);
  return { ...newDumps(dir, seen), pids };
}

/** Switches instrumentation on in every process of the tree (started with --instr-atstart=no); returns their pids. */
export async function instrumentTree(root: number): Promise<number[]> {
  // A process that has just exec'd is in the tree before valgrind's control channel is up in it (a test's forked
  // child was left uninstrumented once, and read 0 instructions): retry the ones not reached for a few seconds.
  const reached = new Set(await control(root, ['-i', 'on']));
  for (let attempt = 0; attempt < 20; attempt++) {
    const missing = (await treePids(root)).filter((p) => !reached.has(p));
    if (missing.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
    for (const pid of await controlPids(missing, ['-i', 'on'])) reached.add(pid);
  }
  return [...reached];
}

/** Forgets the dumps written so far (exit dumps of processes that ended earlier) and zeroes the tree's counters. */
export async function zeroTree(root: number, dir: string, seen: Set<string>): Promise<void> {
  newDumps(dir, seen);
  await control(root, ['-z']);
}

/**
 * Settled: the count per message over the last n windows within ±spread of that over the n before. Blocks, not
 * single windows: some models repeat a pattern (cluster-rr here: 11.7k, 13.9k, 13.9k, 11.7k …), a GC lands in one
 * window of several, and the block's mean holds still where a window does not. Pure.
 */
export function settledBlocks(
  windows: readonly { instructions: number; messages: number }[],
  n: number,
  spread: number,
): boolean {
  if (windows.length < 2 * n) return false;
  const perMsg = (ws: readonly { instructions: number; messages: number }[]): number =>
    ws.reduce((s, w) => s + w.instructions, 0) / ws.reduce((s, w) => s + w.messages, 0);
  const last = perMsg(windows.slice(-n));
  const before = perMsg(windows.slice(-2 * n, -n));
  return Math.abs(last / before - 1) <= spread;
}

interface Window {
  messages: number;
  instructions: number;
  processes: number;
  errors: ErrorCounts;
  seconds: number;
}

/** The dump files written since `seen`, summed (a process that exited wrote its last dump on its way out). */
function newDumps(dir: string, seen: Set<string>): { instructions: number; processes: Set<string> } {
  let instructions = 0;
  const processes = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (seen.has(f) || !f.startsWith('cg.')) continue;
    seen.add(f);
    instructions += dumpInstructions(readFileSync(path.join(dir, f), 'utf8'));
    processes.add(f.split('.')[1]!);
  }
  return { instructions, processes };
}

/** Read- and write-like syscalls (syscr, syscw of /proc/PID/io) of every process of the tree, summed. */
async function treeSyscalls(root: number): Promise<{ read: number; write: number }> {
  const n = { read: 0, write: 0 };
  for (const pid of await treePids(root)) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      n.read += Number(/^syscr: (\d+)/m.exec(io)?.[1] ?? 0);
      n.write += Number(/^syscw: (\d+)/m.exec(io)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/**
 * The counted windows' read + write calls, or undefined where one side made none: a server that answered them with
 * recv/send (CPython's sockets: 0.014 a message counted) did its I/O with calls /proc/PID/io does not see.
 */
function seenSyscalls(from: { read: number; write: number }, to: { read: number; write: number }): number | undefined {
  const read = to.read - from.read;
  const write = to.write - from.write;
  return read > 0 && write > 0 ? read + write : undefined;
}

async function treePids(root: number): Promise<number[]> {
  try {
    return await pidtree(root, { root: true });
  } catch {
    return [root];
  }
}

/** Zero (-z), dump (-d) or switch on (-i on) every counted process of the tree; returns the pids it reached. */
async function control(root: number, op: readonly string[]): Promise<number[]> {
  return controlPids(await treePids(root), op);
}

async function controlPids(pids: readonly number[], op: readonly string[]): Promise<number[]> {
  const reached: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      try {
        await run('callgrind_control', [...op, String(pid)], { timeout: 60_000 });
        reached.push(pid);
      } catch {
        // not a valgrind process (setarch or taskset already exec'd, so only an exiting child gets here)
      }
    }),
  );
  return reached;
}

/** Waits until the dump files of `pids` are all there (callgrind writes them shortly after the command). */
async function awaitDumps(dir: string, seen: Set<string>, pids: readonly number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const files = readdirSync(dir).filter((f) => !seen.has(f));
    if (pids.every((p) => files.some((f) => f.startsWith(`cg.${p}.`) || f === `cg.${p}`))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One counted run of a cell: a fresh server process under callgrind, warm windows until its count per message
 * settles, then COUNTING.windows counted windows. Always returns a record (errored with the reason on failure).
 */
export async function countCell(
  subject: CellSubject,
  cellWorkload: Workload,
  runIndex: number,
  ctx: CellContext,
  round?: number,
  schedule: CountSchedule = COUNTING.schedule,
): Promise<RunRecord> {
  const workload = { ...subject.load(cellWorkload) };
  const { name: _n, family: _f, description: _d, predicts: _p, ...params } = workload;
  const connections = countedConnections(subject, workload, ctx);
  const base = {
    schema: RECORD_SCHEMA,
    suiteId: ctx.suiteId,
    time: new Date().toISOString(),
    workload: workload.name,
    model: subject.name,
    run: runIndex,
    ...(round !== undefined ? { round } : {}),
    ...(subject.side ? { side: subject.side } : {}),
    params,
    split: {
      mode: ctx.split.mode,
      ...(ctx.split.server !== undefined ? { server: ctx.split.server } : {}),
      describe: ctx.split.describe,
    },
    env: ctx.env,
  } as const;
  const availability = subject.available();
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-callgrind-'));
  // Processes that start after instrumentation is switched on would start uninstrumented (an exec'd Node child runs
  // with the command line's options): only a persistent load has every process of the tree up after its first window.
  const instrumentLater = schedule.uninstrumentedMessages > 0 && workload.pattern === 'persistent';
  const callgrind: CallgrindLaunch = {
    dir,
    valgrindArgs: [...COUNTING.valgrindArgs, ...(instrumentLater ? ['--instr-atstart=no'] : [])],
    nodeFlags: COUNTING.nodeFlags,
    noAslr: COUNTING.noAslr,
    readyTimeoutMs: COUNTING.readyTimeoutMs,
    env: { [START_TIMEOUT_SCALE_ENV]: String(COUNTING.startTimeoutScale) },
  };
  const counted: CellContext = { ...ctx, callgrind, cpuRate: COUNTING.cpuRate, maxChildren: COUNTING.maxChildren };
  let stopServer: (() => Promise<unknown>) | undefined;
  try {
    const startedAt = performance.now();
    const server = await subject.start(workload, COUNTING.workers, counted);
    stopServer = () => server.stop(5000);
    const readyAt = performance.now();
    const driverArgs = nativeLoadArgs({
      host: server.host,
      port: server.ready.port,
      connections,
      inFlight: workload.inFlight,
      payloadBytes: workload.payloadBytes,
      pattern: workload.pattern,
      warmupSec: 0,
      durationSec: DEFAULTS.loadDurationSec,
      timeoutMs: COUNTING.timeoutMs,
      windowFrames: 1,
      threads: 1,
      ...(ctx.settings.seed !== undefined ? { seed: ctx.settings.seed } : {}),
      ...(requestsOf(ctx, workload)
        ? { requestsFile: requestsOf(ctx, workload)!.file, verify: requestsOf(ctx, workload)!.verify }
        : {}),
    });
    // The server's count per message depends on how many sockets each epoll_wait finds ready, so on the driver
    // answering at once: a driver sharing a CPU with a busy loop answered late and event-loop's echo count moved
    // 12,848–13,253 over 6 processes (3.1 %); at SCHED_FIFO 12,894–12,914 (0.2 %), as quiet (docs/counts.md).
    const driver = spawnDriver({ command: nativeBinary(TCP_LOAD), args: driverArgs, fifo: driverAtFifo() });
    // The first windows are sized at one frame per connection; K then follows the measured pace.
    const result = await driveWindows(
      driver,
      dir,
      server.ready.pid,
      connections,
      schedule,
      instrumentLater,
      ctx.signal,
    );
    // Where a counted run's time goes (the server's start under valgrind, warm windows, counted windows), so the
    // schedule can be judged by what it costs.
    const seconds = {
      start: (readyAt - startedAt) / 1000,
      warm: (result.settledAt - readyAt) / 1000,
      counted: (performance.now() - result.settledAt) / 1000,
    };
    const stopped = await server.stop(10_000);
    stopServer = undefined;
    const totals = result.counted.reduce(
      (t, w) => ({
        messages: t.messages + w.messages,
        instructions: t.instructions + w.instructions,
        seconds: t.seconds + w.seconds,
      }),
      { messages: 0, instructions: 0, seconds: 0 },
    );
    const errors = sumErrors(result.counted.map((w) => w.errors));
    const counts: Counts = {
      instructions: totals.instructions,
      messages: totals.messages,
      processes: Math.max(...result.counted.map((w) => w.processes)),
      warmWindows: result.warm.length,
      windowPerMessage: result.counted.map((w) => w.instructions / w.messages),
      ...(result.syscalls !== undefined ? { syscalls: result.syscalls } : {}),
    };
    const load: LoadResult = {
      driver: 'native',
      seconds: totals.seconds,
      messages: totals.messages,
      bytes: totals.messages * (workload.payloadBytes + 4),
      msgsPerSec: totals.seconds > 0 ? totals.messages / totals.seconds : 0,
      bytesPerSec: 0,
      latency: { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 },
      latencyResolution: 'us',
      errors,
      client: { cpuPercent: 0, saturated: false },
      connections: { total: connections, served: connections },
    };
    const record: RunRecord = {
      ...base,
      status: 'ok',
      server: {
        workers: server.ready.workers,
        cpus: ctx.split.server ?? 'all',
        details: {
          counted: 'callgrind',
          driverPolicy: result.driverPolicy ?? 'unknown',
          windowFrames: result.windowFrames,
          countedConnections: connections,
          settled: result.settled,
          perWindow: result.counted.map((w) => Math.round(w.instructions / w.messages)).join(' '),
          warmWindows: result.warm.map((w) => `${Math.round(w.instructions / w.messages)}/${w.messages}`).join(' '),
          seconds: Object.entries(seconds)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', '),
        },
      },
      result: load,
      counts,
    };
    if (!result.settled)
      record.reason = `the count per message had not settled within ±${schedule.settleSpread * 100}% after ${result.warm.length} warm windows`;
    if (stopped.forced)
      Object.assign(record, { reason: 'server did not stop on SIGTERM and was killed', stopForced: true });
    return record;
  } catch (error) {
    if (ctx.signal?.aborted)
      return { ...base, status: 'interrupted', reason: 'interrupted before the counted run finished' };
    return { ...base, status: 'errored', reason: `counting: ${(error as Error).message}` };
  } finally {
    await stopServer?.();
    // A traced worker can still be writing its last dump after the master has exited: retry, as rmdir then finds the
    // directory not empty (ENOTEMPTY), the race a test met in CI.
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/**
 * The window protocol with the driver (tcp-load --window-frames): at its first quiet point every process is zeroed;
 * each window ends quiet and is dumped. Warm windows size K (about COUNTING.windowSec each) and run until the count
 * per message settles; then COUNTING.windows counted ones.
 */
async function driveWindows(
  driver: ReturnType<typeof spawnDriver>,
  dir: string,
  serverPid: number,
  connections: number,
  S: CountSchedule,
  instrumentLater: boolean,
  signal: AbortSignal | undefined,
) {
  const seen = new Set<string>();
  const warm: Window[] = [];
  const counted: Window[] = [];
  // The first window already holds S.minWindowMessages; from there K doubles.
  let windowFrames = Math.max(1, Math.ceil(S.minWindowMessages / connections));
  let stderr = '';
  driver.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const lines = createInterface({ input: driver.stdout! });
  const iterator = lines[Symbol.asyncIterator]();
  const onAbort = (): void => void driver.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  const exited = new Promise<number | null>((resolve) => driver.once('exit', (code) => resolve(code)));
  const next = async <K extends 'quiet' | 'counted'>(kind: K): Promise<Extract<NativeLine, { kind: K }>> => {
    for (;;) {
      const r = await iterator.next();
      if (r.done) throw new Error(`the driver ended (${stderr.trim().split('\n').at(-1) ?? `exit ${await exited}`})`);
      const line = parseNativeLine(r.value);
      if (line.kind === kind) return line as Extract<NativeLine, { kind: K }>;
    }
  };
  const send = (command: string): void => void driver.stdin!.write(`${command}\n`);
  const runWindow = async (
    frames: number,
  ): Promise<{ messages: number; seconds: number; errors: Partial<ErrorCounts> }> => {
    if (signal?.aborted) throw new Error('interrupted');
    send(`go ${frames}`);
    const w = (await next('counted')).window;
    if (!w.quiet) throw new Error('a window never went quiet: frames were left unanswered');
    return w;
  };
  try {
    await next('quiet');
    // Read once the driver runs (chrt has set the policy and exec'd by then).
    const driverPolicy = schedulingPolicy(driver.pid);
    let phase: 'jit' | 'sizing' | 'fixed' = 'jit';
    let switchedOn: Set<number> | undefined;
    if (instrumentLater) {
      // The start and the JIT's warm-up uninstrumented, in one window: after it every process of the tree is up
      // (a process-per-connection child starts on its connection's first frame) and is switched on.
      await runWindow(Math.max(1, Math.ceil(S.uninstrumentedMessages / connections)));
      switchedOn = new Set(await instrumentTree(serverPid));
      phase = 'sizing';
    }
    await zeroTree(serverPid, dir, seen); // exit dumps of processes that ended while the server started: not the window's
    let settledNow = false;
    let settledAt = performance.now();
    let syscallsAtStart: { read: number; write: number } | undefined;
    let phaseFrom = 0;
    while (counted.length < S.windows) {
      const w = await runWindow(windowFrames);
      const dumped = await dumpTree(serverPid, dir, seen);
      const late = switchedOn ? dumped.pids.filter((p) => !switchedOn.has(p)) : [];
      if (late.length > 0)
        throw new Error(
          `process ${late.join(', ')} started after counting was switched on: what it ran before would be missing`,
        );
      const window: Window = {
        messages: w.messages,
        instructions: dumped.instructions,
        processes: dumped.processes.size,
        errors: { ...noErrors(), ...w.errors },
        seconds: w.seconds,
      };
      if (window.messages === 0) throw new Error('a window verified no message');
      if (settledNow) counted.push(window);
      else {
        warm.push(window);
        // Three phases, each decided on counts (not time), so the same code always runs the same schedule, the same
        // windows and the same GCs in them: (1) small windows while the JIT warms up, until their count per message
        // roughly holds (±S.warmSpread by blocks); (2) K doubles until a window holds
        // S.windowInstructions; (3) with K fixed, until it holds within ±S.settleSpread.
        if (phase === 'jit') {
          // Cold counts plateau for a while (~110k, then ~14k per message on event-loop's echo): a plateau is not the
          // end of the JIT's work until enough messages have gone through for V8 to tier the handlers up.
          const served = warm.reduce((n, x) => n + x.messages, 0);
          if (served >= S.jitMessages && settledBlocks(warm.slice(phaseFrom), S.settleWindows, S.warmSpread))
            phase = 'sizing';
          else if (window.instructions < S.windowInstructions && windowFrames * 2 * connections <= S.jitMessages)
            windowFrames *= 2;
        }
        if (phase === 'sizing') {
          // Straight to the power-of-two multiple of K that holds S.windowInstructions, not one doubling a window:
          // the same code still arrives at the same K, in one window instead of four.
          const grown = grownFrames(windowFrames, window.instructions, S);
          if (grown > windowFrames) windowFrames = grown;
          else {
            phase = 'fixed';
            phaseFrom = warm.length;
          }
        } else if (phase === 'fixed') {
          settledNow = settledBlocks(warm.slice(phaseFrom), S.fixedSettleWindows, S.settleSpread);
        }
        if (warm.length >= S.maxWarmWindows) settledNow = true;
        // The counted windows' syscalls: the tree's read+write calls from here to the end of the last one.
        if (settledNow) {
          syscallsAtStart = await treeSyscalls(serverPid);
          settledAt = performance.now();
        }
      }
    }
    const syscalls =
      syscallsAtStart !== undefined ? seenSyscalls(syscallsAtStart, await treeSyscalls(serverPid)) : undefined;
    send('stop');
    await exited;
    return {
      warm,
      counted,
      windowFrames,
      syscalls,
      settledAt,
      driverPolicy,
      settled: phase === 'fixed' && settledBlocks(warm.slice(phaseFrom), S.fixedSettleWindows, S.settleSpread),
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (driver.exitCode === null) driver.kill('SIGKILL');
  }
}

/** K doubled until a window of `instructions` per K frames would hold S.windowInstructions (at most S.maxWindowFrames). Pure. */
export function grownFrames(
  frames: number,
  instructions: number,
  S: Pick<CountSchedule, 'windowInstructions' | 'maxWindowFrames'>,
): number {
  let k = frames;
  while (instructions * (k / frames) < S.windowInstructions && k * 2 <= S.maxWindowFrames) k *= 2;
  return k;
}

/** One counted run to do. */
export interface CountJob {
  group: WorkloadGroup;
  subject: CellSubject;
  run: number;
}

export interface CountPassOptions {
  /** Counted runs (fresh server processes) per cell. */
  runs: number;
  /** CPUs to run servers on, one counted cell per CPU at a time: counts do not care who else runs. */
  cpus: readonly string[];
  signal?: AbortSignal;
}

type CountHooks = { onRecord(r: RunRecord): void; onProgress?(r: RunRecord, done: number, total: number): void };

/**
 * The counted pass: every cell of every group (ceiling rows aside) counted `runs` times, a fresh server process each,
 * as many cells at once as there are CPUs in `cpus`. A cell that cannot be counted gets one skipped record that says
 * why, never silence.
 */
export async function runCountedPass(
  groups: readonly WorkloadGroup[],
  o: CountPassOptions,
  hooks: CountHooks,
): Promise<RunRecord[]> {
  const skipped: RunRecord[] = [];
  const jobs: CountJob[] = [];
  for (let run = 0; run < o.runs; run++) {
    for (const group of groups) {
      for (const subject of group.subjects) {
        const excluded = countExclusion(group.workload, {
          name: subject.name,
          runtime: subject.reference ? 'native' : 'node',
        });
        if (excluded) {
          if (run === 0) {
            const r = skippedCount(subject, group, excluded);
            skipped.push(r);
            hooks.onRecord(r);
          }
          continue;
        }
        jobs.push({ group, subject, run });
      }
    }
  }
  return [...skipped, ...(await runCountJobs(jobs, o, hooks))];
}

/** Counted runs, `countSlots` at a time, each server pinned round-robin to `o.cpus`. */
export async function runCountJobs(
  jobs: readonly CountJob[],
  o: Omit<CountPassOptions, 'runs'>,
  hooks: CountHooks,
): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  let next = 0;
  let done = 0;
  const worker = async (cpu: string): Promise<void> => {
    while (next < jobs.length && !o.signal?.aborted) {
      const job = jobs[next++]!;
      const ctx: CellContext = {
        ...job.group.ctx,
        split: {
          ...job.group.ctx.split,
          server: cpu,
          describe: `counted under callgrind: server on CPU ${cpu}, driver unpinned ${driverAtFifo() ? 'at SCHED_FIFO' : 'at normal priority (chrt -f not permitted: a busy neighbour can move counts ~3 %)'}`,
        },
      };
      const record = await countCell(job.subject, job.group.workload, job.run, ctx, job.run);
      records.push(record);
      hooks.onRecord(record);
      hooks.onProgress?.(record, ++done, jobs.length);
    }
  };
  // Counts do not care who else runs: more cells at once than CPUs (each server pinned round-robin) only fill the
  // gaps while another cell's windows are zeroed and dumped.
  const slots = Math.min(countSlots(o.cpus.length), Math.max(1, jobs.length));
  await Promise.all(Array.from({ length: slots }, (_, i) => worker(o.cpus[i % o.cpus.length]!)));
  return records;
}

function skippedCount(subject: CellSubject, group: WorkloadGroup, reason: string): RunRecord {
  const { name: _n, family: _f, description: _d, predicts: _p, ...params } = group.workload;
  const ctx = group.ctx;
  return {
    schema: RECORD_SCHEMA,
    suiteId: ctx.suiteId,
    time: new Date().toISOString(),
    workload: group.workload.name,
    model: subject.name,
    run: 0,
    ...(subject.side ? { side: subject.side } : {}),
    params,
    env: ctx.env,
    status: 'skipped',
    reason: `not counted: ${reason}`,
  };
}
