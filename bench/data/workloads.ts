/**
 * Workloads as data. A workload family lists its axes; an axis given as an array is swept (each value becomes its
 * own workload, named after the family and the swept values). Profiles name the families they run.
 */
import type { WorkloadParams } from './axes.js';

export { DEFAULT_PARAMS, type WorkloadParams } from './axes.js';

export interface Workload extends WorkloadParams {
  name: string;
  family: string;
  description: string;
  /** What the models' designs predict for this workload (printed with the verdict). */
  predicts: string;
}

type Axes<T> = { [K in keyof T]: T[K] | readonly T[K][] };

export interface WorkloadFamily {
  name: string;
  description: string;
  predicts: string;
  axes: Partial<Axes<WorkloadParams>>;
}

export const FAMILIES: readonly WorkloadFamily[] = [
  {
    name: 'echo',
    description: '50 persistent connections, 64 B frames, no handler work',
    predicts: 'the single loop and native epoll lead: pure I/O with nothing to parallelize on one server CPU',
    axes: {},
  },
  {
    name: 'pipelined',
    description: '50 persistent connections, 16 frames in flight each, 64 B, no handler work',
    predicts:
      'servers answer a whole chunk of frames per syscall, so the per-frame-verifying client saturates first; CPU µs/msg ranks the servers',
    axes: { inFlight: 16 },
  },
  {
    name: 'connections',
    description: 'connection sweep, 64 B frames, no handler work',
    predicts: 'iterative collapses past 1 connection; epoll-based loops stay flat as connections grow',
    axes: { connections: [1, 10, 100, 1000] },
  },
  {
    name: 'payload',
    description: 'payload sweep on 10 connections; 1 MiB is the file-transfer case (streamed, not buffered)',
    predicts: 'per-message overhead dominates small frames; copying bandwidth levels the models at 1 MiB',
    axes: { connections: 10, payloadBytes: [64, 4096, 65536, 1048576] },
  },
  {
    name: 'cpu',
    description: 'CPU-bound handler (cpu:200 µs per frame), server may use every CPU',
    predicts: 'parallel models (cluster, worker-threads, piscina, fork-pool) beat one loop by up to the CPU count',
    axes: { work: 'cpu:200', pin: 'shared' },
  },
  {
    name: 'blocking',
    description: 'blocking handler (block:5 ms per frame, like a blocking syscall), server may use every CPU',
    predicts: 'iterative and the single loop collapse to 1 frame per block time; more workers, more throughput',
    axes: { work: 'block:5', pin: 'shared' },
  },
  {
    name: 'async',
    description: 'asynchronous wait in the handler (async:5 ms per frame)',
    predicts: 'one event loop overlaps all waits and shines; extra processes add nothing but cost',
    axes: { work: 'async:5' },
  },
  {
    name: 'connect-per-request',
    description: 'connect, one 64 B echo, close (the time-server pattern): accept and spawn cost',
    predicts:
      'fork-per-connection pays a ~100 ms process start per request, thread-per-connection a thread start; loops pay only accept',
    axes: { pattern: 'connect-per-request', connections: 10 },
  },
  {
    name: 'open-loop',
    description: 'constant 5000 frames/s on 50 connections; latency from the intended send time (wrk2 style)',
    predicts: 'every model keeps up; tail latency shows scheduling and handoff costs without coordinated omission',
    axes: { rate: 5000 },
  },
];

export interface Profile {
  name: string;
  description: string;
  families: readonly string[];
  /** Runs every cell gets, then (adaptive) at most maxRuns while its interval is wider than the target. */
  runs: number;
  maxRuns: number;
  /** No new adaptive round after this many seconds of suite. */
  maxSec?: number;
  warmupSec: number;
  durationSec: number;
  /** A latency objective (--slo's syntax) checked at the rate of each open-loop row; --slo searches every workload. */
  objective?: string;
}

export const PROFILES: readonly Profile[] = [
  {
    name: 'quick',
    description: 'the default: pure echo and CPU-bound work, every model, adaptive runs, under 4 minutes',
    families: ['echo', 'cpu'],
    // Two runs a cell (the least a comparison needs), then runs go to the comparisons still undecided; a run's
    // throughput varies 15–25 % here whatever its length (0.5 s windows measured no noisier than 1 s ones, at 58 % of
    // the time per run: docs/method.md), so the budget goes to more runs, not longer ones.
    runs: 2,
    maxRuns: 30,
    maxSec: 215,
    warmupSec: 0.25,
    durationSec: 0.5,
  },
  {
    name: 'full',
    description:
      'the whole matrix: connection and payload sweeps, CPU, blocking and async work, connect-per-request, open loop',
    families: FAMILIES.map((f) => f.name),
    // The quick profile's plan over every family, with a budget: 3 runs of 1+3 s for each of its 150 cells took 36 min
    // before any adaptive run, and the open-loop row's p99 (its decider) was measured as spread over 0.5 s windows as
    // over 2 s ones (3.5–10 ms either way on this VM: docs/method.md), so runs, not longer windows, narrow it. The
    // budget: 28 min of runs, so that the whole suite (start, render) ends within 30.
    runs: 2,
    maxRuns: 30,
    maxSec: 1680,
    warmupSec: 0.25,
    durationSec: 0.5,
    // Whether each model holds p99 ≤ 10 ms at the open-loop row's 5,000 msgs/s: five runs a model, ~1.5 min here.
    objective: 'p99=10ms',
  },
];
