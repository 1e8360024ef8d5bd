/**
 * Folds the repetitions of each cell into one summary: throughput interval over runs, latency percentiles from the
 * merged histograms (never averaged), medians of resource use, summed error counts. Pure.
 */
import {
  mergeHistograms,
  percentileCurve,
  summarize,
  type LatencySummary,
  type PercentilePoint,
} from '../../clients/histogram.js';
import { sumErrors, totalErrors, type ErrorCounts, type LoadResult } from '../../clients/load-result.js';
import { confidenceInterval, median, type Interval } from '../data/stats.js';
import { cellKey, type CellParams, type OkRecord, type RunRecord } from '../data/record.js';
import {
  commonSource,
  METRIC_IDS,
  runSamplesOf,
  samplesOf,
  sourcesFor,
  type MetricId,
  type SampleSource,
} from '../data/metrics.js';

export interface CellSummary {
  key: string;
  workload: string;
  model: string;
  params: CellParams;
  status: 'ok' | 'errored' | 'skipped' | 'interrupted';
  /** Reasons of skipped/errored runs (deduplicated). */
  reasons: string[];
  /** Runs that count: ok and not set aside. */
  okRuns: number;
  totalRuns: number;
  /** ok runs set aside (and repeated) because the hypervisor stole too much CPU during them. */
  discardedRuns: number;
  /** Why they were (deduplicated). */
  setAsideReasons: string[];
  /** Runs cut short by Ctrl-C/SIGTERM. */
  interruptedRuns: number;
  /** Runs that failed (errored) while the suite went on. */
  failedRuns: number;
  /** Runs whose server ignored SIGTERM and was killed. */
  forcedStops: number;
  /** Their reasons (deduplicated). */
  failures: string[];
  /** Runs counted although disturbed (--if-disturbed keep, once a disturbance persisted). */
  disturbedRuns: number;
  /**
   * Decided: its comparison with its row's leader is settled (the verdict sets this; a summary alone says only
   * whether it has the two runs any comparison needs). An undecided cell is marked "?".
   */
  conclusive: boolean;
  /** msgs/s of each ok run, in run order. */
  samples: number[];
  /**
   * The block each sample's run took turns in with the row's other models (its round), aligned with `samples` and
   * with `values.p99`; undefined for a run measured alone. Two models' runs of one block are compared as a pair.
   */
  turns: { throughput: (number | undefined)[]; p99: (number | undefined)[] };
  throughput: Interval;
  bytesPerSec: number;
  latency: LatencySummary;
  /** The merged histogram's percentile distribution (for the latency charts); absent without histograms. */
  latencyCurve?: PercentilePoint[];
  latencyUncorrected?: LatencySummary;
  latencyResolution: 'us' | 'ms';
  serverCpuPercent: number;
  /** Server CPU time per verified message, µs (median over runs): its cost, whoever the bottleneck was. */
  serverCpuUsPerMsg: number;
  /** The same per run, as an interval (NaN where the server's CPU was not sampled). */
  serverCpuInterval: Interval;
  /** The server tree's memory (median over runs): its PSS when the window closed (older records: peak summed RSS). */
  serverMemoryBytes: number;
  /** Highest hypervisor steal seen in any run of the cell, % of the machine's CPU time (NaN when unknown). */
  hostStealPercent: number;
  clientCpuPercent: number;
  /** The load client's CPU time per verified message, µs (median over runs): what the driver costs. */
  clientCpuUsPerMsg: number;
  /** Most runs of this cell had a saturated client: the number is the client's limit, not the server's. */
  clientSaturated: boolean;
  clientReason?: string;
  errors: ErrorCounts;
  errorTotal: number;
  /** Connections that got no answer in the window (median over runs): a server that starves clients. */
  starved: number;
  /** Connections the model serves at once, when fewer than asked (from the driver's readiness gate). */
  servesAtOnce?: number;
  /** Seconds the run waited, before its warmup, for the served connections' first answers (median over runs). */
  readyWaitSec: number;
  workers: number;
  serverCpus?: string;
  clientCpus?: string;
  /** Every metric's per-run values (in run order), and its interval over them (n = 0 where no run measured it). */
  values: Record<MetricId, number[]>;
  metrics: Record<MetricId, Interval>;
  /** Runs counted under callgrind. */
  countedRuns: number;
}

/** Per-run server CPU µs per verified message, for the runs that sampled the server. */
export function cpuPerMessageSamples(records: readonly OkRecord[]): number[] {
  return samplesOf('cpuPerMsg', records);
}

/** Timed runs that count toward a cell's figures: ok, not set aside, and not counted under callgrind. */
export function timedRuns(records: readonly RunRecord[]): OkRecord[] {
  return records.filter((r): r is OkRecord => r.status === 'ok' && !r.discarded && r.counts === undefined);
}

/** Runs counted under callgrind (npm run bench -- --counts): their instructions per message, never their timing. */
export function instructionRuns(records: readonly RunRecord[]): OkRecord[] {
  return records.filter((r): r is OkRecord => r.status === 'ok' && r.counts !== undefined);
}

export function summarizeCell(records: readonly RunRecord[]): CellSummary {
  const first = records[0]!;
  const ok = timedRuns(records);
  const counted = instructionRuns(records);
  // Each metric from one source (metrics.ts: sourcesFor), the first this suite has samples from.
  const runsOf: Record<SampleSource, OkRecord[]> = { timed: ok, counted };
  const samplesFor = (id: MetricId): number[] => {
    const have = new Set(sourcesFor(id, 'show').filter((s) => samplesOf(id, runsOf[s]).length > 0));
    const source = commonSource(id, 'show', [have]);
    return source ? samplesOf(id, runsOf[source]) : [];
  };
  const okFirst = records.find((r): r is OkRecord => r.status === 'ok');
  const results = ok.map((r) => r.result);
  const samples = results.map((r) => r.msgsPerSec);
  const turnOf = (r: OkRecord): number | undefined => (r.block?.members !== undefined ? r.round : undefined);
  const turns = { throughput: ok.map(turnOf), p99: runSamplesOf('p99', ok).map((s) => turnOf(s.run)) };
  const histograms = results.map((r) => r.histogram).filter((h): h is string => h !== undefined);
  const merged =
    histograms.length === results.length && histograms.length > 0 ? mergeHistograms(histograms) : undefined;
  const latency = merged ? summarize(merged) : medianLatency(results.map((r) => r.latency));
  const uncorrected = results.map((r) => r.latencyUncorrected).filter((l): l is LatencySummary => l !== undefined);
  const saturatedRuns = results.filter((r) => r.client.saturated);
  const errors = sumErrors(results.map((r) => r.errors));
  const reasons = [...new Set(records.flatMap((r) => (r.reason ? [r.reason] : [])))];
  const usage = ok.flatMap((r) => (r.server.usage ? [r.server.usage] : []));
  const interruptedRuns = records.filter((r) => r.status === 'interrupted').length;
  // A cell whose runs all measured but were set aside is measured, not failed: the table says why none counted.
  const status =
    ok.length > 0 || counted.length > 0 || records.some((r) => r.status === 'ok')
      ? 'ok'
      : records.every((r) => r.status === 'skipped')
        ? 'skipped'
        : interruptedRuns > 0 && !records.some((r) => r.status === 'errored')
          ? 'interrupted'
          : 'errored';
  const throughput = confidenceInterval(samples);
  const serverCpuInterval = confidenceInterval(cpuPerMessageSamples(ok));
  const conclusive = ok.length >= 2;
  return {
    key: cellKey(first),
    workload: first.workload,
    model: first.model,
    params: first.params,
    status,
    reasons,
    okRuns: ok.length,
    totalRuns: records.length,
    discardedRuns: records.filter((r) => r.status === 'ok' && r.discarded).length,
    setAsideReasons: [...new Set(records.flatMap((r) => (r.status === 'ok' && r.discarded ? [r.discarded] : [])))],
    interruptedRuns,
    failedRuns: records.filter((r) => r.status === 'errored').length,
    forcedStops: records.filter((r) => r.status === 'ok' && r.stopForced).length,
    failures: [...new Set(records.flatMap((r) => (r.status === 'errored' ? [r.reason] : [])))],
    disturbedRuns: ok.filter((r) => r.disturbed !== undefined).length,
    conclusive,
    samples,
    turns,
    throughput,
    bytesPerSec: median(results.map((r) => r.bytesPerSec)),
    latency,
    ...(merged && merged.totalCount > 0 ? { latencyCurve: percentileCurve(merged) } : {}),
    ...(uncorrected.length > 0 ? { latencyUncorrected: medianLatency(uncorrected) } : {}),
    latencyResolution: results.some((r) => r.latencyResolution === 'ms') ? 'ms' : 'us',
    serverCpuPercent: median(usage.map((u) => u.cpuPercent)),
    serverCpuUsPerMsg: serverCpuInterval.median,
    serverCpuInterval,
    serverMemoryBytes: median(usage.map((u) => u.pssBytes ?? u.rssPeakBytes)),
    hostStealPercent: usage.some((u) => u.hostStealPercent !== undefined)
      ? Math.max(...usage.map((u) => u.hostStealPercent ?? 0))
      : NaN,
    clientCpuPercent: median(results.map((r) => r.client.cpuPercent)),
    clientCpuUsPerMsg: median(
      results.filter((r) => r.msgsPerSec > 0).map((r) => (r.client.cpuPercent / 100) * (1e6 / r.msgsPerSec)),
    ),
    clientSaturated: saturatedRuns.length * 2 > results.length,
    ...(saturatedRuns[0]?.client.reason ? { clientReason: saturatedRuns[0].client.reason } : {}),
    errors,
    errorTotal: totalErrors(errors),
    starved: median(results.map((r) => (r.connections ? r.connections.total - r.connections.served : 0))) || 0,
    // The fewest waited for: a --server's cap is learned after its first window (bench/run/run-cell.ts).
    ...(atOnce(results) < first.params.connections ? { servesAtOnce: atOnce(results) } : {}),
    readyWaitSec: median(results.map((r) => r.readiness?.waitedSec ?? 0)) || 0,
    workers: okFirst?.server.workers ?? 0,
    ...(okFirst?.server.cpus ? { serverCpus: okFirst.server.cpus } : {}),
    ...(okFirst?.clientCpus ? { clientCpus: okFirst.clientCpus } : {}),
    values: Object.fromEntries(METRIC_IDS.map((id) => [id, samplesFor(id)])) as Record<MetricId, number[]>,
    metrics: Object.fromEntries(METRIC_IDS.map((id) => [id, confidenceInterval(samplesFor(id))])) as Record<
      MetricId,
      Interval
    >,
    countedRuns: counted.length,
  };
}

/** Without histograms (e.g. a driver that gives only percentiles), the median of each percentile over runs. */
/** The fewest connections any run waited for (Infinity when none waited). */
function atOnce(results: readonly LoadResult[]): number {
  return Math.min(...results.map((r) => r.readiness?.expected ?? Infinity));
}

function medianLatency(list: LatencySummary[]): LatencySummary {
  const pick = (k: keyof LatencySummary): number => median(list.map((l) => l[k]));
  if (list.length === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: list.reduce((s, l) => s + l.count, 0),
    mean: pick('mean'),
    p50: pick('p50'),
    p90: pick('p90'),
    p99: pick('p99'),
    p999: pick('p999'),
    max: Math.max(...list.map((l) => l.max)),
  };
}

/** Groups records by cell, keeping the order in which cells first appear. */
export function summarizeRecords(records: readonly RunRecord[]): CellSummary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    // A capacity search's steps are open-loop runs at rates of their own (bench/judge/capacity.ts).
    if (r.slo !== undefined) continue;
    const key = cellKey(r);
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map(summarizeCell);
}
