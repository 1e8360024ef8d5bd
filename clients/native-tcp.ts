/**
 * The native TCP load driver (clients/native/tcp-load.c) behind the same options and LoadResult as the Node client.
 * The C program does the load, the verification and the timing; this side starts it, passes its phase lines on, and
 * turns its sparse (µs, count) histogram pairs into the HdrHistograms every record carries, so runs of either driver
 * merge the same way.
 */
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { latencyHistogram, encodeHistogram, summarize, type Histogram } from './histogram.js';
import { CLIENT_SATURATION_CPU_PERCENT } from './usage.js';
import { validateTcpLoadOptions, type TcpLoadOptions } from './tcp.js';
import type { ErrorCounts, LoadResult, Readiness } from './load-result.js';
import { nativeBinary, nativeStatus, TCP_LOAD, type NativeStatus } from '../lib/native.js';
import { UsageError } from '../lib/cli-args.js';
import { PHASE_PREFIX } from './line-protocol.js';
import { spawnDriver } from './spawn-driver.js';
import { writeRequestsFile, type VerifyMode } from './requests-file.js';

/** The native driver takes the common load parameters (threads included) and the requests of request/response mode
 * (the C driver reads `requests.file`, or a temporary copy of `requests.pairs` written for it). */
export type NativeTcpLoadOptions = TcpLoadOptions;

/** Everything the C driver takes (clients/native/tcp-load.c, its OPTIONS table): the one place its command line is built. */
export interface NativeArgs extends Omit<NativeTcpLoadOptions, 'onPhase' | 'requests'> {
  /** Request/response mode: the requests file (clients/requests-file.ts) the driver sends from and verifies against. */
  requestsFile?: string;
  /** With requestsFile: what a response must match (the driver's default: bytes). */
  verify?: VerifyMode;
  /** Counted windows of exactly K frames per connection, driven over stdin (bench/run/counts.ts). */
  windowFrames?: number;
  /** After its window, connections stay open until stdin ends or this many seconds pass. */
  lingerSec?: number;
}

export function nativeDriverStatus(): NativeStatus {
  return nativeStatus(TCP_LOAD);
}

/** The driver's command line for these options. */
export function nativeLoadArgs(o: NativeArgs): string[] {
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const args = [
    '--target',
    `${host}:${o.port}`,
    '--connections',
    String(o.connections),
    '--in-flight',
    String(o.inFlight),
    '--size',
    String(o.payloadBytes),
    '--duration',
    String(o.durationSec),
    '--warmup',
    String(o.warmupSec),
    '--pattern',
    o.pattern,
    '--timeout',
    String(o.timeoutMs),
    '--threads',
    String(o.threads ?? 1),
  ];
  if (o.rate !== undefined) args.push('--rate', String(o.rate));
  if (o.readyConnections !== undefined) args.push('--ready-connections', String(o.readyConnections));
  if (o.readyTimeoutSec !== undefined) args.push('--ready-timeout', String(o.readyTimeoutSec));
  if (o.windowFrames !== undefined) args.push('--window-frames', String(o.windowFrames));
  if (o.lingerSec !== undefined) args.push('--linger', String(o.lingerSec));
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.requestsFile !== undefined) args.push('--requests', o.requestsFile);
  if (o.verify !== undefined) args.push('--verify', o.verify);
  return args;
}

/** A line the driver prints: a phase, its result, or (counted windows) a quiet point or a window's count. */
export type NativeLine =
  | { kind: 'phase'; phase: 'measure' | 'done' }
  | { kind: 'result'; raw: NativeRawResult }
  | { kind: 'quiet' }
  | { kind: 'counted'; window: CountedWindow }
  | { kind: 'other' };

/** One counted window (--window-frames): the messages it verified, its time, whether it ended quiet, its errors. */
export interface CountedWindow {
  messages: number;
  seconds: number;
  quiet: boolean;
  errors: Partial<ErrorCounts>;
}

const QUIET_PREFIX = 'CONBENCH_QUIET';
const COUNTED_PREFIX = 'CONBENCH_COUNTED ';

/** The driver's stdout, one line at a time: the one parser of what tcp-load.c prints. */
export function parseNativeLine(line: string): NativeLine {
  if (line === `${PHASE_PREFIX}measure`) return { kind: 'phase', phase: 'measure' };
  if (line === `${PHASE_PREFIX}done`) return { kind: 'phase', phase: 'done' };
  if (line.startsWith(NATIVE_RESULT_PREFIX))
    return { kind: 'result', raw: JSON.parse(line.slice(NATIVE_RESULT_PREFIX.length)) as NativeRawResult };
  if (line.startsWith(COUNTED_PREFIX))
    return { kind: 'counted', window: JSON.parse(line.slice(COUNTED_PREFIX.length)) as CountedWindow };
  if (line.startsWith(QUIET_PREFIX)) return { kind: 'quiet' };
  return { kind: 'other' };
}

export const NATIVE_RESULT_PREFIX = 'CONBENCH_NATIVE_RESULT ';

/** What tcp-load.c prints after "CONBENCH_NATIVE_RESULT ". */
export interface NativeRawResult {
  driver: 'native';
  seconds: number;
  messages: number;
  bytes: number;
  errors: ErrorCounts;
  /** CPU of the whole driver over the window, % of one core (may exceed 100 with several threads). */
  cpuPercent: number;
  busiestThreadCpuPercent: number;
  threads: number;
  pinned: boolean;
  connections?: { total: number; served: number };
  openLoop?: { targetRate: number; backlogged: number };
  readiness?: Readiness;
  /** The first error counted in the window, e.g. "connect ECONNREFUSED 127.0.0.1:9". */
  firstError?: string;
  /** Sparse [µs, count] pairs in HdrHistogram's bucket layout (3 significant digits). */
  latency: [number, number][];
  latencyUncorrected?: [number, number][];
}

function histogramOf(pairs: readonly [number, number][]): Histogram {
  const h = latencyHistogram();
  for (const [micros, count] of pairs) h.recordValueWithCount(micros, count);
  return h;
}

/** Pure: the C driver's result as a LoadResult. A thread at ≥ 90 % CPU means the driver, not the server, set the pace. */
export function toLoadResult(raw: NativeRawResult): LoadResult {
  const latency = histogramOf(raw.latency);
  const saturated = raw.busiestThreadCpuPercent >= CLIENT_SATURATION_CPU_PERCENT;
  return {
    driver: 'native',
    seconds: raw.seconds,
    messages: raw.messages,
    bytes: raw.bytes,
    msgsPerSec: raw.seconds > 0 ? raw.messages / raw.seconds : 0,
    bytesPerSec: raw.seconds > 0 ? raw.bytes / raw.seconds : 0,
    latency: summarize(latency),
    ...(raw.latencyUncorrected ? { latencyUncorrected: summarize(histogramOf(raw.latencyUncorrected)) } : {}),
    histogram: encodeHistogram(latency),
    latencyResolution: 'us',
    errors: raw.errors,
    client: {
      cpuPercent: raw.cpuPercent,
      saturated,
      threads: raw.threads,
      busiestThreadCpuPercent: raw.busiestThreadCpuPercent,
      ...(saturated
        ? {
            reason: `native driver thread at ${raw.busiestThreadCpuPercent.toFixed(0)} % CPU ≥ ${CLIENT_SATURATION_CPU_PERCENT} %`,
          }
        : {}),
    },
    ...(raw.connections ? { connections: raw.connections } : {}),
    ...(raw.openLoop ? { openLoop: raw.openLoop } : {}),
    ...(raw.readiness ? { readiness: raw.readiness } : {}),
    ...(raw.firstError ? { firstError: raw.firstError } : {}),
  };
}

export class NativeLoadError extends Error {
  override name = 'NativeLoadError';
}

/** Runs the C driver once. Phase lines reach o.onPhase as they happen; SIGINT/SIGTERM here stop the driver too. */
export async function runNativeTcpLoad(o: NativeTcpLoadOptions): Promise<LoadResult> {
  validateTcpLoadOptions(o);
  const requests = o.requests;
  if (!requests) return runNative(nativeLoadArgs(o), o);
  // Request/response mode: the driver reads the requests from a file, the one given or a copy of the pairs.
  const dir = requests.file === undefined ? mkdtempSync(path.join(os.tmpdir(), 'conbench-requests-')) : undefined;
  try {
    const requestsFile = requests.file ?? path.join(dir!, 'requests.bin');
    if (dir) writeRequestsFile(requestsFile, requests.pairs);
    return await runNative(nativeLoadArgs({ ...o, requestsFile, verify: requests.verify }), o);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function runNative(args: string[], o: NativeTcpLoadOptions): Promise<LoadResult> {
  const binary = nativeBinary(TCP_LOAD);
  return new Promise<LoadResult>((resolve, reject) => {
    const child = spawnDriver({ command: binary, args });
    child.stdin.end();
    const forward = (signal: NodeJS.Signals) => (): void => void child.kill(signal);
    const onTerm = forward('SIGTERM');
    const onInt = forward('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    let stderr = '';
    let raw: NativeRawResult | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 8000) stderr += d;
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const l = parseNativeLine(line);
      if (l.kind === 'phase') o.onPhase?.(l.phase);
      else if (l.kind === 'result') raw = l.raw;
    });
    child.once('error', (error) => reject(new NativeLoadError(`could not start the native driver: ${error.message}`)));
    child.once('close', (code, signal) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      if (raw && code === 0) resolve(toLoadResult(raw));
      else {
        const why =
          stderr
            .trim()
            .split('\n')
            .at(-1)
            ?.replace(/^error: /, '') || `exit code ${code ?? signal}`;
        // Its exit 2 is bad usage (an option it refuses), the same as ours.
        reject(code === 2 ? new UsageError(why) : new NativeLoadError(`native driver failed: ${why}`));
      }
    });
  });
}
