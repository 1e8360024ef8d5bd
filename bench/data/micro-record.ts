/**
 * MicroRecord: one tinybench measurement of one primitive (a thread hop, an IPC message, a process start…) on one
 * CPU set, self-describing like a suite's RunRecord. `npm run bench:micro` appends them to
 * results/micro/<run>/records.jsonl and names the newest run in results/micro/LATEST; the cost model reads them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../../lib/defaults.js';
import type { Environment } from './record.js';
import { RecordsFileError, recordsFileFor } from './records-file.js';

export const MICRO_SCHEMA = 1;
/** Micro runs live under <results root>/micro/, beside the suites. */
export const MICRO_DIR = 'micro';

/** tinybench's latency statistics of one primitive, in µs. */
export interface MicroLatency {
  meanUs: number;
  p50Us: number;
  p99Us: number;
  minUs: number;
  maxUs: number;
  /** tinybench's relative margin of error of the mean (95 %), percent. */
  rmePercent: number;
  samples: number;
}

export interface MicroRecord {
  schema: typeof MICRO_SCHEMA;
  /** The `npm run bench:micro` invocation this record belongs to. */
  runId: string;
  time: string;
  /** Primitive id, e.g. "piscina-task". */
  id: string;
  title: string;
  /** What one operation is (one sample is one operation, or the mean of a batch of them). */
  op: string;
  /** taskset CPU list everything of this measurement ran on ("all" when unpinned). */
  cpus: string;
  status: 'ok' | 'errored' | 'skipped';
  reason?: string;
  latency?: MicroLatency;
  /** CPU time per operation, µs, summed over every process and thread involved. */
  cpuUsPerOp?: number;
  /** The same split by side (e.g. client / server), when the sides are separate processes. */
  cpuBySide?: Record<string, number>;
  /** Facts of the measurement (calibrated rates, payload size, serialization…). */
  details?: Record<string, string | number>;
  env: Environment;
}

export function microRoot(resultsRoot: string): string {
  return path.join(resultsRoot, MICRO_DIR);
}

function finiteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Why a value is not a MicroRecord, or undefined when it is one. */
export function microRecordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const r = value as Partial<Record<keyof MicroRecord, unknown>>;
  if (r.schema !== MICRO_SCHEMA) return `schema must be ${MICRO_SCHEMA}`;
  for (const key of ['runId', 'time', 'id', 'title', 'op', 'cpus'] as const) {
    if (typeof r[key] !== 'string' || r[key] === '') return `${key} must be a non-empty string`;
  }
  if (r.status !== 'ok' && r.status !== 'errored' && r.status !== 'skipped')
    return 'status must be ok, errored or skipped';
  if (r.status !== 'ok') return typeof r.reason === 'string' ? undefined : `a ${r.status} record needs a reason`;
  const l = r.latency as Partial<Record<keyof MicroLatency, unknown>> | undefined;
  if (typeof l !== 'object' || l === null) return 'an ok record needs latency';
  for (const key of ['meanUs', 'p50Us', 'p99Us', 'minUs', 'maxUs', 'rmePercent', 'samples'] as const) {
    if (!finiteNumber(l[key]) || l[key] < 0) return `latency.${key} must be a number ≥ 0`;
  }
  if (!((l.samples as number) >= 1)) return 'latency.samples must be at least 1';
  if (
    !(
      (l.minUs as number) <= (l.p50Us as number) &&
      (l.p50Us as number) <= (l.p99Us as number) &&
      (l.p99Us as number) <= (l.maxUs as number)
    )
  ) {
    return 'latency must satisfy min ≤ p50 ≤ p99 ≤ max';
  }
  if (!finiteNumber(r.cpuUsPerOp) || r.cpuUsPerOp < 0) return 'an ok record needs cpuUsPerOp ≥ 0';
  if (
    r.cpuBySide !== undefined &&
    (typeof r.cpuBySide !== 'object' || r.cpuBySide === null || !Object.values(r.cpuBySide).every(finiteNumber))
  ) {
    return 'cpuBySide must map sides to numbers';
  }
  if (typeof r.env !== 'object' || r.env === null) return 'env is missing';
  return undefined;
}

/** Reads a micro run: a run folder, its records.jsonl, or a micro root (its LATEST run). */
export function readMicroRecords(location: string): MicroRecord[] {
  const file = recordsFileFor(location);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new RecordsFileError(`${file}:${i + 1} is not JSON`);
    }
    const problem = microRecordProblem(value);
    if (problem) throw new RecordsFileError(`${file}:${i + 1} is not a micro record (${problem})`);
    return value as MicroRecord;
  });
}

/** The measured record of a primitive on a CPU set. */
export function findMicro(records: readonly MicroRecord[], id: string, cpus: string): MicroRecord | undefined {
  return records.find((r) => r.id === id && r.cpus === cpus && r.status === 'ok');
}

/** fork-per-connection's default cap: the processes its persistent cells serve with. */
export const ECHO_PROCESSES = DEFAULTS.maxChildren;

export function manyProcessesId(processes: number): string {
  return `tcp-rtt-${processes}-procs`;
}
