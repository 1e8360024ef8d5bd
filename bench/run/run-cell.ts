/**
 * Runs one repetition of one cell: a fresh server process (pinned), the driver process (pinned), the server's
 * resources sampled over exactly the measured window, then the server stopped. Always returns a RunRecord: a model
 * that is unavailable is `skipped` with its reason, a failure is `errored` with its message, a run cut short by the
 * suite's abort signal (Ctrl-C, SIGTERM) is `interrupted` — never thrown, so one bad cell does not sink the suite.
 */
import { runClientProcess } from './client-process.js';
import type { ServerSampler } from './sampler.js';
import type { ServerHandle, ServerHost } from './server-host.js';
import { findDriver, type Driver as LoadDriver } from '../../clients/drivers.js';
import type { LoadResult } from '../../clients/load-result.js';
import type { Model } from '../../servers/registry.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { parseWorkSpec } from '../../servers/work.js';
import type { Workload } from '../data/workloads.js';
import type { CpuSplit } from './pinning.js';
import {
  RECORD_SCHEMA,
  type Environment,
  type RecordedSplit,
  type OkRecord,
  type RunRecord,
  type ServerUsage,
  type Side,
} from '../data/record.js';
import type { CallgrindLaunch } from './server-process.js';
import type { Settings } from '../data/settings.js';
import { disturbanceOf } from './disturbance.js';

export interface CellContext {
  /** What the user asked for (data/settings.ts): windows, timeouts, limits, workers… each read where it is used. */
  settings: Settings;
  suiteId: string;
  env: Environment;
  split: CpuSplit;
  /** Where servers run: this machine, or a serve agent's. */
  host: ServerHost;
  /** Aborting stops the run at once (client and server killed) and records it as interrupted. */
  signal?: AbortSignal;
  /** Spin iterations per µs for cpu:<µs> work (one calibration for every model). */
  cpuRate?: number;
  /** The memory guard's cap on a server's process tree (PSS, bytes). */
  memoryCapBytes?: number;
  /** --handler: each handler workload's requests file (what the drivers send and check) and how they check it. */
  requests?: ReadonlyMap<string, HandlerFile>;
  /** Counted runs: the server runs under callgrind (bench/run/counts.ts), with its own cap on children. */
  callgrind?: CallgrindLaunch;
  maxChildren?: number;
}

/** A handler workload's requests as the drivers take them: the file, how answers are checked, how many there are. */
export interface HandlerFile {
  file: string;
  verify: 'bytes' | 'length' | 'none';
  count: number;
}

/** The requests of a workload (--handler), found by its name and protocol. */
export function requestsOf(
  ctx: Pick<CellContext, 'requests'>,
  w: Pick<Workload, 'name' | 'protocol' | 'work'>,
): HandlerFile | undefined {
  return ctx.requests?.get(requestsKey(w));
}

/** A handler workload's key: its name and protocol, and its module (--against: each side's handler has its own answers). */
export function requestsKey(w: Pick<Workload, 'name' | 'protocol' | 'work'>): string {
  return `${w.protocol}/${w.name}/${w.work}`;
}

/** The children cap a run uses: a counted run's own, else the user's, else the default. */
export function maxChildrenOf(ctx: Pick<CellContext, 'settings' | 'maxChildren'>): number {
  return ctx.maxChildren ?? ctx.settings.maxChildren ?? DEFAULTS.maxChildren;
}

/** What a cell measures: a registered model, or the driver's ceiling target. */
export interface CellSubject {
  name: string;
  available(): { ok: true } | { ok: false; reason: string };
  start(workload: Workload, workers: number, ctx: CellContext): Promise<ServerHandle>;
  /** The load actually applied to it (the ceiling is measured with GET). */
  load(workload: Workload): Workload;
  /** Persistent connections it serves at once (the rest wait: iterative, a capped process-per-connection). */
  servesAtOnce?(connections: number, ctx: CellContext): number;
  /** A reference row (the native ceiling), not a contender for the verdict. */
  reference?: boolean;
  /** --against: the side whose build this subject's servers come from. */
  side?: Side;
}

/** The split as a record keeps it. */
export function recordedSplit(s: CpuSplit): RecordedSplit {
  return {
    mode: s.mode,
    ...(s.server !== undefined ? { server: s.server } : {}),
    ...(s.client !== undefined ? { client: s.client } : {}),
    ...(s.driverThreads !== undefined ? { driverThreads: s.driverThreads } : {}),
    describe: s.describe,
    ...(s.why ? { why: s.why } : {}),
  };
}

/** A registered model as a cell's subject; with a side, its servers come from that side's build (root). */
export function modelSubject(model: Model, side?: { side: Side; root?: string; handlerModule?: string }): CellSubject {
  return {
    name: model.name,
    ...(side ? { side: side.side } : {}),
    available: () => model.available(),
    // --against with --handler: the base side runs the handler as it was at REF.
    load: (w) =>
      side?.handlerModule && w.work.startsWith('handler:') ? { ...w, work: `handler:${side.handlerModule}` } : w,
    reference: model.runtime === 'native',
    ...(model.servesAtOnce
      ? { servesAtOnce: (n, ctx) => model.servesAtOnce!(n, { maxChildren: maxChildrenOf(ctx) }) }
      : {}),
    start: (workload, workers, ctx) =>
      ctx.host.start({
        model: model.name,
        protocol: workload.protocol,
        work: workload.work,
        workers,
        ...(ctx.maxChildren !== undefined || ctx.settings.maxChildren !== undefined
          ? { maxChildren: maxChildrenOf(ctx) }
          : {}),
        ...(ctx.cpuRate !== undefined ? { cpuRate: ctx.cpuRate } : {}),
        ...(ctx.settings.injectCpu[model.name] !== undefined
          ? { injectCpuMicros: ctx.settings.injectCpu[model.name] }
          : {}),
        ...(ctx.split.server !== undefined ? { cpus: ctx.split.server } : {}),
        pin: ctx.split.mode,
        ...(ctx.callgrind ? { callgrind: ctx.callgrind } : {}),
        ...(side?.root ? { root: side.root } : {}),
        ...(ctx.memoryCapBytes !== undefined ? { memoryCapBytes: ctx.memoryCapBytes } : {}),
        ...(ctx.callgrind ? {} : { readyTimeoutMs: ctx.settings.startTimeoutSec * 1000 }),
        // A server from outside runs its own command, from the side's tree (--against: REF's, else the current one).
        ...(model.runtime === 'external'
          ? {
              external: {
                command: model.command,
                ...(model.httpPath ? { httpPath: model.httpPath } : {}),
                cwd: side?.root ?? process.cwd(),
              },
            }
          : {}),
      }),
  };
}

/**
 * How many connections a server whose design is not known here (your --server) was seen to serve at once: the most
 * that had an answer when a window's wait for all of them gave out. Learned once, so the next windows wait for that
 * many instead of the whole --ready-timeout again: a Python iterative server (one connection at a time) cost 30 s a
 * window, 60 of a block's 89 s.
 */
const seenServingAtOnce = new WeakMap<CellSubject, Map<number, number>>();

/** Connections whose first answer opens the window: all of them, unless the model serves fewer at once. */
export function readyConnections(subject: CellSubject, workload: Workload, ctx: CellContext): number {
  if (workload.pattern !== 'persistent') return workload.connections; // every short connection gets its turn
  if (subject.servesAtOnce) return subject.servesAtOnce(workload.connections, ctx);
  return seenServingAtOnce.get(subject)?.get(workload.connections) ?? workload.connections;
}

/** What a window's wait said about a server without a known cap (see seenServingAtOnce). */
function learnServingAtOnce(subject: CellSubject, workload: Workload, readiness: LoadResult['readiness']): void {
  if (subject.servesAtOnce || !readiness?.timedOut || readiness.ready < 1) return;
  const seen = seenServingAtOnce.get(subject) ?? new Map<number, number>();
  seen.set(workload.connections, Math.max(seen.get(workload.connections) ?? 0, readiness.ready));
  seenServingAtOnce.set(subject, seen);
}

/**
 * Why a finished run does not count (it is repeated): the hypervisor stole, or other processes used, more CPU during
 * its window than the limits allow. Never, with keepEveryRun: then the figures are only recorded. Pure.
 */
export function setAsideReason(
  usage: ServerUsage | undefined,
  limits: Pick<Settings, 'stealLimitPercent' | 'otherLoadLimitPercent'> & { keepEveryRun?: boolean },
): string | undefined {
  if (limits.keepEveryRun) return undefined;
  return disturbanceOf(usage, limits)?.text;
}

/**
 * Why a run's CPU figure cannot be true: its server used less CPU per message than the work each message does.
 * Measured: in an --against block a fork-per-connection window of cpu:200 read 24 µs/msg (14 % of a CPU while the
 * host was 199 % busy, 1,413 reads for 2,923 messages): the sampler missed children that came and went between
 * its looks. Half the work is the bound, below any calibration error between CPUs. Pure.
 */
export function missedCpuReason(work: string, result: LoadResult, usage: ServerUsage | undefined): string | undefined {
  const spec = parseWorkSpec(work);
  if (spec.kind !== 'cpu' || !usage || !(result.msgsPerSec > 0)) return undefined;
  const cpuUsPerMsg = ((usage.cpuPercent / 100) * 1e6) / result.msgsPerSec;
  if (cpuUsPerMsg >= spec.amount / 2) return undefined;
  return `the server's CPU time was not all seen: ${cpuUsPerMsg.toFixed(0)} µs/msg against the ${spec.amount} µs of work each message does`;
}

class Interrupted extends Error {
  override name = 'Interrupted';
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Interrupted(String(signal.reason ?? 'interrupted'));
}

/** What every record of a run of `subject` in `cellWorkload` says, whatever becomes of it. */
export function recordBase(subject: CellSubject, workload: Workload, run: number, ctx: CellContext, round?: number) {
  const { name: _n, family: _f, description: _d, predicts: _p, ...params } = workload;
  return {
    schema: RECORD_SCHEMA,
    suiteId: ctx.suiteId,
    time: new Date().toISOString(),
    workload: workload.name,
    model: subject.name,
    run,
    ...(round !== undefined ? { round } : {}),
    params,
    ...(subject.side ? { side: subject.side } : {}),
    window: { warmupSec: ctx.settings.warmupSec, durationSec: ctx.settings.durationSec },
    ...(requestsOf(ctx, workload)
      ? { answers: { verify: requestsOf(ctx, workload)!.verify, requests: requestsOf(ctx, workload)!.count } }
      : {}),
    split: recordedSplit(ctx.split),
    env: ctx.env,
  } as const;
}

/** Why `subject` cannot run `workload` here (unavailable model, missing driver), or the driver that will load it. */
export function preflight(subject: CellSubject, workload: Workload): { driver: LoadDriver } | { skipped: string } {
  const availability = subject.available();
  if (!availability.ok) return { skipped: availability.reason };
  const driver = findDriver(workload.driver);
  if (!driver) return { skipped: `unknown driver ${workload.driver}` };
  const present = driver.present();
  if (!present.ok) return { skipped: present.reason };
  return { driver };
}

/** The server as a record describes it. */
export function serverInfo(server: ServerHandle, ctx: CellContext): Omit<OkRecord['server'], 'usage'> {
  return {
    workers: server.ready.workers,
    cpus: ctx.split.server ?? 'all',
    ...(server.ready.details ? { details: server.ready.details } : {}),
    ...(server.agent ? { agent: server.agent } : {}),
  };
}

/** One measured window of a running server: the driver's result and the server's resources over exactly it. */
export async function measureWindowOf(
  subject: CellSubject,
  workload: Workload,
  server: ServerHandle,
  driver: LoadDriver,
  ctx: CellContext,
  window: { warmupSec: number; durationSec: number },
): Promise<{ result: LoadResult; usage?: ServerUsage }> {
  let sampler: Promise<ServerSampler> | undefined;
  let usage: Promise<ServerUsage | undefined> | undefined;
  // The driver is stopped at once when the suite is stopped or the server dies: a dead server's window measures
  // nothing but failed connects.
  const cut = new AbortController();
  const onSuiteAbort = (): void => cut.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onSuiteAbort, { once: true });
  if (ctx.signal?.aborted) onSuiteAbort();
  void server.whenDied?.then((why) => cut.abort(why));
  try {
    const tcp = workload.protocol === 'tcp';
    const driverCommand = driver.command({
      host: server.host,
      port: server.ready.port,
      connections: workload.connections,
      inFlight: workload.inFlight,
      payloadBytes: workload.payloadBytes,
      pattern: workload.pattern,
      ...(workload.rate !== undefined ? { rate: workload.rate } : {}),
      warmupSec: window.warmupSec,
      durationSec: window.durationSec,
      timeoutMs: ctx.settings.timeoutMs,
      ...(tcp
        ? { readyConnections: readyConnections(subject, workload, ctx), readyTimeoutSec: ctx.settings.readyTimeoutSec }
        : {}),
      ...(ctx.split.driverThreads !== undefined ? { threads: ctx.split.driverThreads } : {}),
      ...(ctx.settings.seed !== undefined ? { seed: ctx.settings.seed } : {}),
      ...(requestsOf(ctx, workload)
        ? { requestsFile: requestsOf(ctx, workload)!.file, verify: requestsOf(ctx, workload)!.verify }
        : {}),
    });
    const result = await runClientProcess({
      ...driverCommand,
      ...(ctx.split.client !== undefined ? { cpus: ctx.split.client } : {}),
      timeoutMs:
        (window.warmupSec + ctx.settings.readyTimeoutSec + window.durationSec) * 1000 + ctx.settings.timeoutMs + 30_000,
      signal: cut.signal,
      onPhase: (phase) => {
        if (phase === 'measure') sampler = server.startSampler();
        else if (phase === 'done' && sampler) return (usage = sampler.then((s) => s.finish()));
        return undefined;
      },
    });
    throwIfAborted(ctx.signal);
    const died = server.died?.();
    if (died) throw new Error(died);
    learnServingAtOnce(subject, workload, result.readiness);
    const sampled = usage ? await usage : undefined;
    const serverUsage =
      sampled?.hostBusyPercent !== undefined
        ? {
            ...sampled,
            // On an agent of this machine the bench and its driver are "other processes" to the agent's sampler.
            otherLoadPercent:
              sampled.otherProcessesPercent !== undefined
                ? Math.max(
                    0,
                    sampled.otherProcessesPercent - (server.agent?.sameMachine ? result.client.cpuPercent : 0),
                  )
                : Math.max(
                    0,
                    sampled.hostBusyPercent -
                      sampled.cpuPercent -
                      (server.agent && !server.agent.sameMachine ? 0 : result.client.cpuPercent),
                  ),
          }
        : sampled;
    return { result, ...(serverUsage ? { usage: serverUsage } : {}) };
  } finally {
    ctx.signal?.removeEventListener('abort', onSuiteAbort);
    // A sampler whose window never closed (the client died in it) must not keep polling.
    if (sampler && !usage) await sampler.then((s) => s.finish()).catch(() => undefined);
  }
}

export async function runCell(
  subject: CellSubject,
  cellWorkload: Workload,
  run: number,
  ctx: CellContext,
  round?: number,
): Promise<RunRecord> {
  const workload = subject.load(cellWorkload);
  const base = recordBase(subject, workload, run, ctx, round);
  const ready = preflight(subject, workload);
  if ('skipped' in ready) return { ...base, status: 'skipped', reason: ready.skipped };

  const workers = ctx.settings.workers ?? ctx.split.serverCpuCount;
  let server: ServerHandle | undefined;
  try {
    throwIfAborted(ctx.signal);
    server = await subject.start(workload, workers, ctx);
    throwIfAborted(ctx.signal);
    const info = serverInfo(server, ctx);
    const { result, usage } = await measureWindowOf(subject, workload, server, ready.driver, ctx, ctx.settings);
    const stopped = await server.stop(ctx.settings.stopTimeoutSec * 1000);
    server = undefined;
    const record: RunRecord = {
      ...base,
      status: 'ok',
      server: { ...info, ...(usage ? { usage } : {}) },
      ...(ctx.split.client !== undefined ? { clientCpus: ctx.split.client } : {}),
      result,
    };
    if (stopped.forced)
      Object.assign(record, { reason: 'server did not stop on SIGTERM and was killed', stopForced: true });
    const setAside = missedCpuReason(workload.work, result, usage) ?? setAsideReason(usage, ctx.settings);
    if (setAside) record.discarded = setAside;
    return record;
  } catch (error) {
    return failedRecord(base, error, ctx, server?.died?.());
  } finally {
    await server?.stop(ctx.signal?.aborted ? 500 : 2000);
  }
}

/**
 * A run that did not finish: interrupted (the suite's abort signal), or errored with why — the server's death first
 * when it died (the driver's own complaint is then only its consequence).
 */
export function failedRecord(
  base: ReturnType<typeof recordBase>,
  error: unknown,
  ctx: CellContext,
  serverDied?: string,
): RunRecord {
  if (ctx.signal?.aborted)
    return {
      ...base,
      status: 'interrupted',
      reason: `${String(ctx.signal.reason ?? 'interrupted')} before the run finished`,
    };
  return { ...base, status: 'errored', reason: serverDied ?? (error as Error).message };
}
