/**
 * Runs one primitive under tinybench and turns the task's result into a MicroRecord: latency statistics (µs) with
 * tinybench's margin of error, and CPU time per operation from the fixture's sides over the measured phase (warm-up
 * excluded). A primitive that cannot run is `skipped`, one that fails is `errored`: never thrown.
 */
import { Bench } from 'tinybench';
import type { Environment } from '../data/record.js';
import { MICRO_SCHEMA, type MicroLatency, type MicroRecord } from '../data/micro-record.js';
import type { Fixture, MicroContext, Primitive } from './primitive.js';

export interface MeasureOptions {
  runId: string;
  env: Environment;
  /** tinybench time budget of the measured phase, ms (at least the primitive's minimum samples are taken). */
  timeMs: number;
  warmupMs: number;
  signal?: AbortSignal;
  /** Called with each fixture while it is alive, and with undefined once it is closed (for signal handlers). */
  onFixture?: (fixture: Fixture | undefined) => void;
}

const US_PER_MS = 1000;

export async function measurePrimitive(p: Primitive, ctx: MicroContext, options: MeasureOptions): Promise<MicroRecord> {
  const base = {
    schema: MICRO_SCHEMA,
    runId: options.runId,
    time: new Date().toISOString(),
    id: p.id,
    title: p.title,
    op: p.op,
    cpus: ctx.cpus,
    env: options.env,
  } as const;
  const why = p.unavailable?.(ctx);
  if (why) return { ...base, status: 'skipped', reason: why };
  let fixture: Fixture | undefined;
  // tinybench listens on the signal it is given and never lets go: give each bench its own, linked to the caller's.
  const local = new AbortController();
  const relay = (): void => local.abort();
  options.signal?.addEventListener('abort', relay, { once: true });
  if (options.signal?.aborted) local.abort();
  try {
    fixture = await p.setup(ctx);
    options.onFixture?.(fixture);
    const f = fixture;
    const perCall = f.opsPerCall ?? 1;
    let ops = 0;
    let cpuStart: Record<string, number> = {};
    let cpuEnd: Record<string, number> = {};
    const bench = new Bench({
      time: options.timeMs,
      warmupTime: options.warmupMs,
      iterations: p.minSamples ?? 64,
      warmupIterations: Math.min(16, p.minSamples ?? 16),
      timestampProvider: 'hrtimeNow',
      signal: local.signal,
    });
    const counted = f.async
      ? async () => {
          const r = await f.fn();
          ops += perCall;
          return r;
        }
      : () => {
          const r = f.fn();
          ops += perCall;
          return r;
        };
    bench.add(p.id, counted, {
      async: f.async,
      // CPU is read around the measured phase only (tinybench calls the hooks per phase: warmup, then run).
      beforeAll: async (mode) => {
        if (mode !== 'run') return;
        ops = 0;
        cpuStart = await f.cpu();
      },
      afterAll: async (mode) => {
        if (mode === 'run') cpuEnd = await f.cpu();
      },
    });
    await bench.run();
    const result = bench.tasks[0]!.result;
    if (result.state === 'errored') return { ...base, status: 'errored', reason: result.error.message };
    if (result.state === 'aborted') return { ...base, status: 'skipped', reason: 'interrupted before any sample' };
    if (result.state !== 'completed' && result.state !== 'aborted-with-statistics')
      return { ...base, status: 'errored', reason: `tinybench task ${result.state}` };
    const l = result.latency;
    const latency: MicroLatency = {
      meanUs: l.mean * US_PER_MS,
      p50Us: l.p50 * US_PER_MS,
      p99Us: l.p99 * US_PER_MS,
      minUs: l.min * US_PER_MS,
      maxUs: l.max * US_PER_MS,
      rmePercent: l.rme,
      samples: l.samplesCount,
    };
    const cpuBySide = Object.fromEntries(
      Object.keys(cpuEnd).map((side) => [side, ((cpuEnd[side] ?? 0) - (cpuStart[side] ?? 0)) / Math.max(1, ops)]),
    );
    const cpuUsPerOp = Object.values(cpuBySide).reduce((a, b) => a + b, 0);
    if (!Number.isFinite(cpuUsPerOp))
      return { ...base, status: 'errored', reason: 'CPU time could not be read (no /proc?)' };
    // Interrupted (Ctrl-C) after some samples: keep them, and say so.
    const details = { ...f.details?.(), ...(result.state === 'aborted-with-statistics' ? { interrupted: 'yes' } : {}) };
    return {
      ...base,
      status: 'ok',
      latency,
      cpuUsPerOp,
      ...(Object.keys(cpuBySide).length > 1 ? { cpuBySide } : {}),
      ...(Object.keys(details).length > 0 ? { details } : {}),
    };
  } catch (error) {
    return { ...base, status: 'errored', reason: (error as Error).message };
  } finally {
    options.signal?.removeEventListener('abort', relay);
    await fixture?.close();
    options.onFixture?.(undefined);
  }
}

/** CPU µs this process (every thread of it) has used. */
export function ownCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
