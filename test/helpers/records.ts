/** Synthetic run records for tests of the pure parts (aggregation, verdict, formatters). */
import { latencyHistogram, encodeHistogram, summarize } from '../../clients/histogram.js';
import { noErrors, type ErrorCounts, type LoadResult } from '../../clients/load-result.js';
import { RECORD_SCHEMA, type RunRecord } from '../../bench/data/record.js';
import { DEFAULT_PARAMS } from '../../bench/data/workloads.js';

export const ENV: RunRecord['env'] = {
  node: 'v20.0.0',
  cpuModel: 'test cpu',
  cores: 2,
  os: 'Linux test',
  gitCommit: 'abc',
  gitDirty: false,
  hostname: 'h',
  taskset: true,
};

export interface FakeRun {
  workload?: string;
  model: string;
  msgsPerSec: number;
  run?: number;
  saturated?: boolean;
  errors?: Partial<ErrorCounts>;
  status?: RunRecord['status'];
  reason?: string;
  latencies?: number[];
  /** Server CPU % of one core over the window (default 90). */
  serverCpuPercent?: number;
  /** Open-loop rate of the cell. */
  rate?: number;
  time?: string;
  env?: Partial<RunRecord['env']>;
  /** Read+write syscalls per message seen by the sampler. */
  syscallsPerMsg?: number;
  /** A counted run (under callgrind) with this many instructions per message. */
  instructionsPerMsg?: number;
  side?: 'base' | 'head';
  /** One side of an --against block of this round (bench/run/run-block.ts). */
  blockRound?: number;
  /** A run of a block of models taking turns, this round (bench/run/run-block.ts). */
  turnRound?: number;
  suiteId?: string;
}

export function fakeRecord(f: FakeRun): RunRecord {
  const base = {
    schema: RECORD_SCHEMA,
    suiteId: f.suiteId ?? 's',
    time: f.time ?? new Date(Date.UTC(2026, 0, 1) + (f.run ?? 0) * 60_000).toISOString(),
    workload: f.workload ?? 'w',
    model: f.model,
    run: f.run ?? 0,
    params: { ...DEFAULT_PARAMS, ...(f.rate !== undefined ? { rate: f.rate } : {}) },
    env: { ...ENV, ...f.env },
    ...(f.side ? { side: f.side } : {}),
    ...(f.blockRound !== undefined
      ? { round: f.blockRound, block: { windows: 8, windowSec: 0.25, settleSec: 0.05, first: 'base' as const } }
      : {}),
    ...(f.turnRound !== undefined
      ? { round: f.turnRound, block: { windows: 2, windowSec: 0.25, settleSec: 0.05, members: ['(test)'] } }
      : {}),
  } as const;
  if (f.status && f.status !== 'ok') return { ...base, status: f.status, reason: f.reason ?? 'because' };
  const h = latencyHistogram();
  for (const v of f.latencies ?? [100]) h.recordValue(v);
  const result: LoadResult = {
    driver: 'node',
    seconds: 1,
    messages: f.msgsPerSec,
    bytes: f.msgsPerSec * 68,
    msgsPerSec: f.msgsPerSec,
    bytesPerSec: f.msgsPerSec * 68,
    latency: summarize(h),
    histogram: encodeHistogram(h),
    latencyResolution: 'us',
    errors: { ...noErrors(), ...f.errors },
    client: { cpuPercent: f.saturated ? 99 : 40, saturated: f.saturated ?? false },
  };
  const syscalls =
    f.syscallsPerMsg !== undefined
      ? { syscalls: { read: (f.syscallsPerMsg * f.msgsPerSec) / 2, write: (f.syscallsPerMsg * f.msgsPerSec) / 2 } }
      : {};
  const counts =
    f.instructionsPerMsg !== undefined
      ? { counts: { instructions: f.instructionsPerMsg * 1000, messages: 1000, processes: 1, warmWindows: 5 } }
      : {};
  return {
    ...base,
    status: 'ok',
    server: {
      workers: 1,
      cpus: '0',
      usage: { cpuPercent: f.serverCpuPercent ?? 90, rssPeakBytes: 50e6, processes: 1, ...syscalls },
    },
    clientCpus: '1',
    result,
    ...counts,
  };
}

/** Three runs per model with the given throughputs. */
export function runsOf(model: string, samples: number[], extra: Partial<FakeRun> = {}): RunRecord[] {
  return samples.map((msgsPerSec, run) => fakeRecord({ model, msgsPerSec, run, ...extra }));
}
