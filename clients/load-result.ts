/**
 * What every load driver (tcp, udp, autocannon, wrk) produces. Nothing downstream knows which driver made it.
 */
import type { LatencySummary } from './histogram.js';

/** node: the Node TCP client; native: the C TCP driver (clients/native/tcp-load.c). */
export type DriverName = 'node' | 'native' | 'udp' | 'autocannon' | 'wrk';

export interface ErrorCounts {
  /** Echoed bytes that differ from what was sent (frames or datagrams). */
  mismatches: number;
  /** Socket errors other than resets, and protocol errors. */
  errors: number;
  resets: number;
  /** Messages not answered within the timeout. */
  timeouts: number;
  connectFailures: number;
  /** HTTP: responses with a status outside 2xx. */
  non2xx: number;
  /** UDP: datagrams never answered, answered twice, answered out of order. */
  lost: number;
  duplicated: number;
  reordered: number;
}

export function noErrors(): ErrorCounts {
  return {
    mismatches: 0,
    errors: 0,
    resets: 0,
    timeouts: 0,
    connectFailures: 0,
    non2xx: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
  };
}

/** Error counts summed (a missing kind counts 0). */
export function sumErrors(all: readonly Partial<ErrorCounts>[]): ErrorCounts {
  const total = noErrors();
  for (const e of all) for (const k of Object.keys(total) as (keyof ErrorCounts)[]) total[k] += e[k] ?? 0;
  return total;
}

export function totalErrors(e: ErrorCounts): number {
  return e.mismatches + e.errors + e.resets + e.timeouts + e.connectFailures + e.non2xx + e.lost + e.duplicated;
}

export interface ClientUsage {
  /** CPU time of the client process over the measured window, % of one core. */
  cpuPercent: number;
  /** Event-loop utilization of the client's main thread (0–1); near 1 means the client could not go faster. */
  eventLoopUtilization?: number;
  /** The client, not the server, was the likely bottleneck (CPU ≥ 90 %, or near the driver's own ceiling). */
  saturated: boolean;
  reason?: string;
  /** Multi-threaded drivers: threads, and the busiest one's CPU % (what saturates first). */
  threads?: number;
  busiestThreadCpuPercent?: number;
}

/** How long the window waited, after the warmup, for connections to have their first answer. */
export interface Readiness {
  /** Connections the server was expected to serve at once (all, or the model's cap). */
  expected: number;
  /** Connections with at least one verified answer when the window opened. */
  ready: number;
  waitedSec: number;
  /** The wait hit its bound with fewer than `expected` ready. */
  timedOut: boolean;
}

export interface LoadResult {
  driver: DriverName;
  /** Measured window, seconds (warmup excluded). */
  seconds: number;
  /** Completed, verified request/response pairs in the window. */
  messages: number;
  /** Echoed bytes received in the window (headers included). */
  bytes: number;
  msgsPerSec: number;
  bytesPerSec: number;
  /** µs from send (or, open loop, from the intended send time) to the last byte of the answer. */
  latency: LatencySummary;
  /** Open loop only: µs from the actual send, the figure closed-loop tools report. */
  latencyUncorrected?: LatencySummary;
  /** HdrHistogram, compressed base64, so runs can be merged; absent when the driver gives no histogram. */
  histogram?: string;
  /** Whole-ms resolution (autocannon) rather than µs. */
  latencyResolution: 'us' | 'ms';
  errors: ErrorCounts;
  client: ClientUsage;
  /** Connections (or flows) opened, and how many got at least one answer in the window. */
  connections?: { total: number; served: number };
  /** The first error's message in the window (e.g. "connect ECONNREFUSED 127.0.0.1:9"), when the driver knows it. */
  firstError?: string;
  /** Open loop: the rate asked for, and sends skipped because too many frames were already outstanding. */
  openLoop?: { targetRate: number; backlogged: number };
  readiness?: Readiness;
}
