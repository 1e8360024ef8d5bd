/**
 * The cost model: each model's server CPU µs per message, predicted from the micro-costs (`npm run bench:micro`)
 * and the event loop's measured cost in the same workload, then its throughput for the CPUs it is given. Pure.
 *
 * What it assumes, so what it can and cannot explain:
 * - Per message, a model that serves connections with the shared endpoint code (cluster, fork-pool, worker-threads,
 *   fork-per-connection's children) costs what the event loop costs: base B, measured in the same suite and workload.
 *   Piscina adds one task round trip per message (the hop to its pool and back). Iterative serves one connection at
 *   a time, so every wake-up brings one message: it costs a one-connection echo's server side, plus the work.
 * - `cpu:<µs>` work costs what the calibrated loop measured on the same CPU set; a model running it on several CPUs
 *   at once pays the loop's cost with every CPU busy instead (the difference is the adjustment term).
 * - Per connection: a handle pass (cluster-rr, fork-pool) or a process start plus a handle pass
 *   (fork-per-connection). Persistent connections open during the warm-up, outside the measured window, so these
 *   costs show per message only when every request opens a connection (connect-per-request).
 * - fork-per-connection starts min(connections, max-children) children at once: when that start-up CPU on the CPUs
 *   it has exceeds the run (warm-up + window), no message is answered in the window.
 * - Throughput = usable CPUs × 1e6 / CPU µs per message, usable CPUs = min(threads that can run, CPUs given); under
 *   shared pinning the client's CPU share is taken off. It is the server's capacity: a client-bound row measures less.
 * - Micro-costs are taken from the micro run's CPU set equal to the cell's server CPUs (0 for echo, 0-1 for cpu).
 */
import type { CellSummary } from './aggregate.js';
import { findMicro, type MicroRecord } from './micro/record.js';
import { countCpus } from './micro/pin.js';

type Threads = 'one' | 'workers' | 'workers+main' | 'children';

/** How a model's cost is built. Adding a model to the registry means adding its shape here (a test checks). */
export type CostShape =
  | { base: 'input' }
  | { base: 'one-connection' }
  | { base: 'event-loop'; perMessage?: readonly string[]; perConnection?: readonly string[]; threads: Threads; startsPerConnection?: boolean }
  | { base: 'none'; why: string };

export const BASE_MODEL = 'event-loop';

export const COST_SHAPES: Readonly<Record<string, CostShape>> = {
  iterative: { base: 'one-connection' },
  'event-loop': { base: 'input' },
  'cluster-rr': { base: 'event-loop', perConnection: ['handle-pass'], threads: 'workers' },
  'cluster-none': { base: 'event-loop', threads: 'workers' },
  'fork-pool': { base: 'event-loop', perConnection: ['handle-pass'], threads: 'workers' },
  'fork-per-connection': { base: 'event-loop', perConnection: ['fork-start', 'handle-pass'], threads: 'children', startsPerConnection: true },
  'worker-threads': { base: 'event-loop', threads: 'workers' },
  piscina: { base: 'event-loop', perMessage: ['piscina-task'], threads: 'workers+main' },
  'native-epoll': { base: 'none', why: 'the C ceiling, not built from Node primitives' },
};

/** Micro primitives the model reads. */
export const MICRO_IDS = { oneConnection: 'tcp-rtt', cpuLoop: 'cpu-loop', cpuLoopParallel: 'cpu-loop-all-cpus' } as const;

export interface Term {
  label: string;
  us: number;
}

export interface Prediction {
  key: string;
  workload: string;
  protocol: string;
  model: string;
  /** The server CPUs the cell ran on (the micro CPU set used). */
  cpus: string;
  /** input: the measured base itself; predicted; or not predicted, with the reason. */
  kind: 'input' | 'predicted' | 'not-predicted';
  reason?: string;
  /** Predicted server CPU µs per message (absent when nothing would be answered, or not predicted). */
  cpuUsPerMsg?: number;
  /** How the prediction adds up, in µs per message. */
  terms: Term[];
  /** CPU µs per new connection (a handle pass, a process start). */
  perConnectionUs?: number;
  /** fork-per-connection: children started at once, the seconds that takes on its CPUs, and whether that eats the run. */
  startup?: { children: number; seconds: number; starved: boolean; overCap: number };
  usableCpus?: number;
  /** Predicted capacity, msgs/s. */
  msgsPerSec?: number;
  measured: { cpuUsPerMsg: number; msgsPerSec: number; clientBound: boolean };
  /** predicted / measured − 1 */
  cpuError?: number;
  /** Only when the row was server-bound (a client-bound row measures the client). */
  rateError?: number;
}

export interface CostModelOptions {
  /** Seconds of one run (warm-up + measured window), to tell when start-up eats a run. */
  runSec?: number;
}

export class MissingMicro extends Error {}

function micro(records: readonly MicroRecord[], id: string, cpus: string): MicroRecord {
  const r = findMicro(records, id, cpus);
  if (!r || r.cpuUsPerOp === undefined) throw new MissingMicro(`no ${id} micro-benchmark on CPUs ${cpus}`);
  return r;
}

/** µs of handler work per message for none / cpu:<µs>; undefined for work the model does not cover. */
export function workMicros(work: string): number | undefined {
  if (work === 'none') return 0;
  const m = /^cpu:(\d+(?:\.\d+)?)$/.exec(work);
  return m ? Number(m[1]) : undefined;
}

/** The cpu: loop's measured CPU for `micros` of work, alone or with every CPU of the set busy. */
function workCost(records: readonly MicroRecord[], cpus: string, micros: number, parallel: boolean): number {
  const r = micro(records, parallel ? MICRO_IDS.cpuLoopParallel : MICRO_IDS.cpuLoop, cpus);
  const target = Number(r.details?.targetUs);
  if (!(target > 0)) throw new MissingMicro(`${r.id} on CPUs ${cpus} has no targetUs`);
  return micros * (r.cpuUsPerOp! / target);
}

function threadCount(threads: Threads, cell: CellSummary): number {
  switch (threads) {
    case 'one':
      return 1;
    case 'workers':
      return cell.workers;
    case 'workers+main':
      return cell.workers + 1;
    case 'children':
      return Math.min(cell.params.connections, cell.workers);
  }
}

/** CPUs the server had: its pinned set, less the client's share when the client runs on one of them. */
export function cpusGiven(cell: CellSummary, machineCores: number): number {
  const n = cell.serverCpus === undefined || cell.serverCpus === 'all' ? machineCores : countCpus(cell.serverCpus);
  const clientShare = cell.params.pin === 'shared' && Number.isFinite(cell.clientCpuPercent) ? cell.clientCpuPercent / 100 : 0;
  return Math.max(0.1, n - clientShare);
}

export function predictCell(cell: CellSummary, base: CellSummary | undefined, records: readonly MicroRecord[], machineCores: number, options: CostModelOptions = {}): Prediction {
  const cpus = cell.serverCpus ?? 'all';
  const measured = { cpuUsPerMsg: cell.serverCpuUsPerMsg, msgsPerSec: cell.throughput.median, clientBound: cell.clientSaturated };
  const out: Prediction = { key: cell.key, workload: cell.workload, protocol: cell.params.protocol, model: cell.model, cpus, kind: 'not-predicted', terms: [], measured };
  const shape = COST_SHAPES[cell.model];
  const work = workMicros(cell.params.work);
  if (!shape) return { ...out, reason: 'no cost shape for this model' };
  if (shape.base === 'none') return { ...out, reason: shape.why };
  if (work === undefined) return { ...out, reason: `work ${cell.params.work} is not CPU per message` };
  if (cell.status !== 'ok') return { ...out, reason: `the cell ${cell.status}` };
  const given = cpusGiven(cell, machineCores);
  try {
    let terms: Term[];
    let threads = 1;
    let perConnectionUs: number | undefined;
    let startup: Prediction['startup'];
    if (shape.base === 'input') {
      return { ...finish(out, [{ label: `${BASE_MODEL} measured`, us: cell.serverCpuUsPerMsg }], Math.min(1, given)), kind: 'input' };
    } else if (shape.base === 'one-connection') {
      if (cell.params.protocol !== 'tcp') return { ...out, reason: 'the one-connection base is measured over TCP only' };
      const rtt = micro(records, MICRO_IDS.oneConnection, cpus);
      const server = rtt.cpuBySide?.server;
      if (server === undefined) throw new MissingMicro(`${rtt.id} on CPUs ${cpus} has no server side`);
      terms = [{ label: 'one-connection echo, server side', us: server }];
      if (work > 0) terms.push({ label: `cpu:${work} work`, us: workCost(records, cpus, work, false) });
    } else {
      if (!base || base.status !== 'ok' || !Number.isFinite(base.serverCpuUsPerMsg)) return { ...out, reason: `no measured ${BASE_MODEL} cell in this workload` };
      threads = threadCount(shape.threads, cell);
      terms = [{ label: `${BASE_MODEL} measured`, us: base.serverCpuUsPerMsg }];
      for (const id of shape.perMessage ?? []) terms.push({ label: id, us: micro(records, id, cpus).cpuUsPerOp! });
      const parallel = Math.min(threads, countCpusOf(cpus, machineCores)) >= 2;
      if (work > 0 && parallel) {
        terms.push({ label: `cpu:${work} with every CPU busy − alone`, us: workCost(records, cpus, work, true) - workCost(records, cpus, work, false) });
      }
      if (shape.perConnection) {
        perConnectionUs = shape.perConnection.reduce((sum, id) => sum + micro(records, id, cpus).cpuUsPerOp!, 0);
        if (cell.params.pattern === 'connect-per-request') terms.push({ label: `per connection (${shape.perConnection.join(' + ')})`, us: perConnectionUs });
      }
      if (shape.startsPerConnection && cell.params.pattern === 'persistent') {
        const children = threadCount('children', cell);
        const seconds = (children * micro(records, 'fork-start', cpus).cpuUsPerOp!) / 1e6 / Math.min(children, given);
        const starved = options.runSec !== undefined && seconds >= options.runSec;
        startup = { children, seconds, starved, overCap: Math.max(0, cell.params.connections - cell.workers) };
      }
    }
    const usable = Math.min(threads, given);
    const result = finish(out, terms, usable);
    if (perConnectionUs !== undefined) result.perConnectionUs = perConnectionUs;
    if (startup) {
      result.startup = startup;
      if (startup.starved) {
        delete result.cpuUsPerMsg;
        delete result.cpuError;
        delete result.rateError;
        result.msgsPerSec = 0;
      }
    }
    return result;
  } catch (error) {
    if (error instanceof MissingMicro) return { ...out, reason: error.message };
    throw error;
  }
}

function countCpusOf(cpus: string, machineCores: number): number {
  return cpus === 'all' ? machineCores : countCpus(cpus);
}

function finish(out: Prediction, terms: Term[], usable: number): Prediction {
  const cpu = terms.reduce((sum, t) => sum + t.us, 0);
  const rate = cpu > 0 ? (usable * 1e6) / cpu : undefined;
  const m = out.measured;
  return {
    ...out,
    kind: 'predicted',
    terms,
    cpuUsPerMsg: cpu,
    usableCpus: usable,
    ...(rate !== undefined ? { msgsPerSec: rate } : {}),
    ...(Number.isFinite(m.cpuUsPerMsg) && m.cpuUsPerMsg > 0 ? { cpuError: cpu / m.cpuUsPerMsg - 1 } : {}),
    ...(rate !== undefined && !m.clientBound && m.msgsPerSec > 0 ? { rateError: rate / m.msgsPerSec - 1 } : {}),
  };
}

/** Predictions for every cell whose workload the model covers (work none or cpu:<µs>, closed loop). */
export function predictSuite(cells: readonly CellSummary[], records: readonly MicroRecord[], machineCores: number, options: CostModelOptions = {}): Prediction[] {
  const covered = cells.filter((c) => workMicros(c.params.work) !== undefined && c.params.rate === undefined && c.model in COST_SHAPES);
  return covered.map((cell) => {
    const base = cells.find((c) => c.model === BASE_MODEL && c.workload === cell.workload && c.params.protocol === cell.params.protocol);
    return predictCell(cell, base, records, machineCores, options);
  });
}

/** The Node models' predictions whose CPU per message is within ±tolerance of the measured one, of those compared. */
export function withinTolerance(predictions: readonly Prediction[], tolerance = 0.25): { within: Prediction[]; compared: Prediction[] } {
  const compared = predictions.filter((p) => p.kind === 'predicted' && p.cpuError !== undefined);
  return { within: compared.filter((p) => Math.abs(p.cpuError!) <= tolerance), compared };
}
