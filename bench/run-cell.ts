/**
 * Runs one repetition of one cell: a fresh server process (pinned), the driver process (pinned), the server's
 * resources sampled over exactly the measured window, then the server stopped. Always returns a RunRecord: a model
 * that is unavailable is `skipped` with its reason, a failure is `errored` with its message — never thrown, so one
 * bad cell does not sink the suite.
 */
import { runClientProcess } from './client-process.js';
import type { ServerHandle, ServerHost, ServerSampler } from './server-host.js';
import { findDriver } from '../clients/drivers.js';
import type { Model } from '../servers/registry.js';
import type { Workload } from './workloads.js';
import type { CpuSplit } from './pinning.js';
import { RECORD_SCHEMA, type Environment, type RunRecord, type ServerUsage } from './record.js';

export interface CellContext {
  suiteId: string;
  env: Environment;
  split: CpuSplit;
  warmupSec: number;
  durationSec: number;
  timeoutMs: number;
  /** Override of the worker count; default: the CPUs the server is given. */
  workers?: number;
  maxChildren?: number;
  cpuRate?: number;
  /** Where servers run: this machine, or a serve agent's. */
  host: ServerHost;
}

/** What a cell measures: a registered model, or the driver's ceiling target. */
export interface CellSubject {
  name: string;
  available(): { ok: true } | { ok: false; reason: string };
  start(workload: Workload, workers: number, ctx: CellContext): Promise<ServerHandle>;
  /** The load actually applied to it (the ceiling is measured with GET). */
  load(workload: Workload): Workload;
}

export function modelSubject(model: Model): CellSubject {
  return {
    name: model.name,
    available: () => model.available(),
    load: (w) => w,
    start: (workload, workers, ctx) =>
      ctx.host.start({
        model: model.name,
        protocol: workload.protocol,
        work: workload.work,
        workers,
        ...(ctx.maxChildren !== undefined ? { maxChildren: ctx.maxChildren } : {}),
        ...(ctx.cpuRate !== undefined ? { cpuRate: ctx.cpuRate } : {}),
        ...(ctx.split.server !== undefined ? { cpus: ctx.split.server } : {}),
        pin: ctx.split.mode,
      }),
  };
}

export async function runCell(subject: CellSubject, cellWorkload: Workload, run: number, ctx: CellContext): Promise<RunRecord> {
  const workload = subject.load(cellWorkload);
  const { name: _n, family: _f, description: _d, predicts: _p, ...params } = workload;
  const base = {
    schema: RECORD_SCHEMA,
    suiteId: ctx.suiteId,
    time: new Date().toISOString(),
    workload: workload.name,
    model: subject.name,
    run,
    params,
    env: ctx.env,
  } as const;
  const availability = subject.available();
  if (!availability.ok) return { ...base, status: 'skipped', reason: availability.reason };
  const driver = findDriver(workload.driver);
  if (!driver) return { ...base, status: 'skipped', reason: `unknown driver ${workload.driver}` };
  const present = driver.present();
  if (!present.ok) return { ...base, status: 'skipped', reason: present.reason };

  const workers = ctx.workers ?? ctx.split.serverCpuCount;
  let server: ServerHandle | undefined;
  try {
    server = await subject.start(workload, workers, ctx);
    const serverInfo = { workers: server.ready.workers, cpus: ctx.split.server ?? 'all', ...(server.ready.details ? { details: server.ready.details } : {}), ...(server.agent ? { agent: server.agent } : {}) };
    let sampler: Promise<ServerSampler> | undefined;
    let usage: Promise<ServerUsage | undefined> | undefined;
    const running = server;
    const { command, args } = driver.command({
      host: server.host,
      port: server.ready.port,
      connections: workload.connections,
      inFlight: workload.inFlight,
      payloadBytes: workload.payloadBytes,
      pattern: workload.pattern,
      ...(workload.rate !== undefined ? { rate: workload.rate } : {}),
      warmupSec: ctx.warmupSec,
      durationSec: ctx.durationSec,
      timeoutMs: ctx.timeoutMs,
    });
    const result = await runClientProcess({
      command,
      args,
      ...(ctx.split.client !== undefined ? { cpus: ctx.split.client } : {}),
      timeoutMs: (ctx.warmupSec + ctx.durationSec) * 1000 + ctx.timeoutMs + 30_000,
      onPhase: (phase) => {
        if (phase === 'measure') sampler = running.startSampler();
        else if (phase === 'done' && sampler) usage = sampler.then((s) => s.finish());
      },
    });
    const serverUsage = usage ? await usage : undefined;
    const stopped = await server.stop();
    server = undefined;
    const record: RunRecord = {
      ...base,
      status: 'ok',
      server: { ...serverInfo, ...(serverUsage ? { usage: serverUsage } : {}) },
      ...(ctx.split.client !== undefined ? { clientCpus: ctx.split.client } : {}),
      result,
    };
    if (stopped.forced) record.reason = 'server did not stop on SIGTERM and was killed';
    return record;
  } catch (error) {
    return { ...base, status: 'errored', reason: (error as Error).message };
  } finally {
    await server?.stop(2000);
  }
}
