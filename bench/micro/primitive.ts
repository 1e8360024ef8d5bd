/**
 * What a micro-benchmark is: a primitive (one cost behind a concurrency model) that sets up a fixture (the threads,
 * processes and sockets it needs), exposes one operation to time, reports the CPU time of every side, and stops
 * everything it started.
 */
import type { Fn } from 'tinybench';

export interface MicroContext {
  /** The taskset CPU list this process (and so everything it starts) is pinned to, or "all". */
  cpus: string;
  /** How many CPUs that list holds. */
  cpuCount: number;
  /** Where the suite runs its load client beside a server on `cpus` (its last CPU), when pinning. */
  clientCpus?: string;
}

export interface Fixture {
  /** One call timed by tinybench: one operation, or a batch of `opsPerCall` returning `overriddenDuration` per op. */
  fn: Fn;
  async: boolean;
  opsPerCall?: number;
  /** CPU µs used so far by each side (e.g. { client, server }); differences over the run give CPU per operation. */
  cpu(): Promise<Record<string, number>>;
  /** Facts to record once the run is over (rates, sizes…). */
  details?(): Record<string, string | number>;
  /** Stops every thread, process and socket of the fixture; safe to call twice. */
  close(): Promise<void>;
}

export interface Primitive {
  id: string;
  title: string;
  /** What one operation is, in a few words. */
  op: string;
  /** Least samples to take (tinybench iterations); slow primitives (process starts) take fewer than the default. */
  minSamples?: number;
  /** Why it cannot run in this context (e.g. it needs two CPUs), or undefined. */
  unavailable?(ctx: MicroContext): string | undefined;
  setup(ctx: MicroContext): Promise<Fixture>;
}
