/**
 * Handler work: the per-message cost every model runs before echoing a frame — `none`, `cpu:<µs>`, `block:<ms>`,
 * `async:<ms>` — or `handler:<module>`, a user's request handler whose response is sent instead of the echo
 * (servers/user-handler.ts). Parsed once when a server starts.
 */
import { performance } from 'node:perf_hooks';

export type WorkKind = 'none' | 'cpu' | 'block' | 'async' | 'handler';

export type Work =
  | { kind: 'none' }
  /** A user's request handler: an ES module, by absolute path (servers/user-handler.ts). */
  | { kind: 'handler'; module: string }
  /** `iterations` of a fixed integer loop, calibrated so they cost about `micros` on the calibrating CPU. */
  | { kind: 'cpu'; micros: number; iterations: number }
  | { kind: 'block'; millis: number }
  | { kind: 'async'; millis: number };

export class WorkSpecError extends Error {
  override name = 'WorkSpecError';
}

const WORK_PATTERN = /^(none|cpu|block|async)(?::(\d+(?:\.\d+)?))?$/;
const LIMITS: Record<Exclude<WorkKind, 'none' | 'handler'>, { max: number; unit: string }> = {
  cpu: { max: 1_000_000, unit: 'µs' },
  block: { max: 60_000, unit: 'ms' },
  async: { max: 60_000, unit: 'ms' },
};

/** A spec before calibration: what the user typed, validated. */
export type WorkSpec =
  | { kind: 'none' }
  | { kind: 'handler'; module: string }
  | { kind: Exclude<WorkKind, 'none' | 'handler'>; amount: number };

const HANDLER_PREFIX = 'handler:';

export function parseWorkSpec(text: string): WorkSpec {
  if (text.startsWith(HANDLER_PREFIX)) {
    const module = text.slice(HANDLER_PREFIX.length);
    if (!module.startsWith('/'))
      throw new WorkSpecError(`work handler:<module> takes the module's absolute path (got "${text}")`);
    return { kind: 'handler', module };
  }
  const m = WORK_PATTERN.exec(text.trim());
  if (!m) {
    throw new WorkSpecError(`work must be one of none, cpu:<µs>, block:<ms>, async:<ms> (got "${text}")`);
  }
  const kind = m[1] as Exclude<WorkKind, 'handler'>;
  if (kind === 'none') {
    if (m[2] !== undefined) throw new WorkSpecError(`work "none" takes no amount (got "${text}")`);
    return { kind };
  }
  if (m[2] === undefined)
    throw new WorkSpecError(`work "${kind}" needs an amount, e.g. ${kind}:${kind === 'cpu' ? 100 : 5}`);
  const amount = Number(m[2]);
  const { max, unit } = LIMITS[kind];
  if (!(amount > 0) || amount > max) {
    throw new WorkSpecError(`work ${kind} amount must be > 0 and ≤ ${max} ${unit} (got "${text}")`);
  }
  return { kind, amount };
}

export function formatWork(work: WorkSpec | Work): string {
  switch (work.kind) {
    case 'none':
      return 'none';
    case 'handler':
      return `${HANDLER_PREFIX}${work.module}`;
    case 'cpu':
      return `cpu:${'amount' in work ? work.amount : work.micros}`;
    case 'block':
    case 'async':
      return `${work.kind}:${'amount' in work ? work.amount : work.millis}`;
  }
}

/** Turns a spec into runnable work; cpu work needs the loop's rate in iterations per µs. */
export function resolveWork(spec: WorkSpec, cpuIterationsPerMicro: () => number): Work {
  switch (spec.kind) {
    case 'none':
      return { kind: 'none' };
    case 'handler':
      return spec;
    case 'cpu':
      return {
        kind: 'cpu',
        micros: spec.amount,
        iterations: Math.max(1, Math.round(spec.amount * cpuIterationsPerMicro())),
      };
    case 'block':
      return { kind: 'block', millis: spec.amount };
    case 'async':
      return { kind: 'async', millis: spec.amount };
  }
}

let sink = 0;

/** A fixed integer mixing loop the JIT cannot remove (its result is kept). */
export function spin(iterations: number): number {
  let x = (sink | 1) >>> 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
  }
  sink = x;
  return x;
}

/** Measures the spin loop's rate on this CPU: the best of several short rounds, so a preempted round does not count. */
export function calibrateSpin(rounds = 7, iterationsPerRound = 2_000_000): number {
  spin(iterationsPerRound); // warm the JIT
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    spin(iterationsPerRound);
    const micros = (performance.now() - t0) * 1000;
    best = Math.max(best, iterationsPerRound / micros);
  }
  return best;
}

const blocker = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread without using CPU, the way a blocking syscall would. */
export function blockFor(millis: number): void {
  Atomics.wait(blocker, 0, 0, millis);
}

function delay(millis: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, millis));
}

/** Runs the work on the calling thread: synchronously for none/cpu/block, a promise for async. */
export function runWork(work: Work): void | Promise<void> {
  switch (work.kind) {
    case 'none':
      return;
    case 'handler':
      throw new Error('a handler answers requests (servers/user-handler.ts); it is not work run before an echo');
    case 'cpu':
      spin(work.iterations);
      return;
    case 'block':
      blockFor(work.millis);
      return;
    case 'async':
      return delay(work.millis);
  }
}
