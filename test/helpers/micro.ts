/** Synthetic micro records and cell summaries for the cost-model tests (the arithmetic, not timings). */
import { summarizeRecords, type CellSummary } from '../../bench/judge/aggregate.js';
import { MICRO_SCHEMA, type MicroRecord } from '../../bench/data/micro-record.js';
import { DEFAULT_PARAMS } from '../../bench/data/workloads.js';
import { ENV, fakeRecord } from './records.js';

export function microRecord(
  id: string,
  cpus: string,
  cpuUsPerOp: number,
  extra: Partial<MicroRecord> = {},
): MicroRecord {
  return {
    schema: MICRO_SCHEMA,
    runId: 'm1',
    time: '2026-01-01T00:00:00.000Z',
    id,
    title: id,
    op: 'one op',
    cpus,
    status: 'ok',
    latency: {
      meanUs: cpuUsPerOp,
      p50Us: cpuUsPerOp,
      p99Us: cpuUsPerOp * 2,
      minUs: cpuUsPerOp / 2,
      maxUs: cpuUsPerOp * 3,
      rmePercent: 1,
      samples: 100,
    },
    cpuUsPerOp,
    env: ENV,
    ...extra,
  };
}

/** A measured cell of `model` with the figures a test sets (CPU µs/msg, msgs/s, CPUs, workers, params). */
export function cellOf(
  model: string,
  workload: string,
  set: Partial<Omit<CellSummary, 'params'>> & { params?: Partial<CellSummary['params']> },
): CellSummary {
  const base = summarizeRecords([fakeRecord({ model, workload, msgsPerSec: 1000 })])[0]!;
  const { params, ...rest } = set;
  return { ...base, ...rest, params: { ...DEFAULT_PARAMS, ...params } };
}
