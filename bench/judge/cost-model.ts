/**
 * The cost model: each model's server CPU µs per message, predicted from the micro-costs (`npm run bench:micro`)
 * and the event loop's measured cost in the same workload, then its msgs/s on the CPUs it is given. Pure.
 *
 * What it assumes, so what it can and cannot explain:
 * - Per message, a model that serves many connections per process with the shared endpoint code (cluster, fork-pool,
 *   worker-threads) costs what the event loop costs: base B, measured in the same suite and workload (its wake-ups
 *   bring several connections' messages at once). Piscina adds one task round trip per message (the hop to its pool
 *   and back). Iterative serves one connection at a time, so every wake-up brings one message: it costs a
 *   one-connection echo's server side, plus the work, and its pace is that connection's round trip, not the CPU.
 * - fork-per-connection's children serve one connection each, so with persistent connections every message wakes a
 *   different process for one frame: it costs the echo of N fresh one-connection processes sharing the CPUs (the
 *   tcp-rtt-32-procs micro, N = its children; tcp-rtt for one), plus the work. Those processes are young, as the
 *   children are in a run (the micro records how many frames each had served): a child's code runs cold for its
 *   first thousands of frames, so a much longer window than the quick profile's would cost less per message.
 * - `cpu:<µs>` work costs what the calibrated loop measured on the same CPU set; a model running it on several CPUs
 *   at once pays the loop's cost with every CPU busy instead (the difference is the adjustment term).
 * - thread-per-connection's main thread relays every message to the connection's thread and back: the event loop's
 *   base plus a MessagePort round trip (thread-postmessage), and a thread start per connection.
 * - Per connection: a handle pass (cluster-rr, fork-pool), a process start plus a handle pass
 *   (fork-per-connection), or a thread start (thread-per-connection). Persistent connections open during the warm-up, outside the measured window, so these
 *   costs show per message only when every request opens a connection (connect-per-request; fork-per-connection is
 *   then priced at the event loop's base plus them, each child serving one message).
 * - fork-per-connection's first connections start min(connections, max-children) children at once (the fork-burst
 *   micro-cost per child). They are taken to be ready together once that CPU is spent on the CPUs they have; if that
 *   is after the window, nothing is answered; otherwise the start-up CPU inside the window is spread over the
 *   messages answered after it. Connections over the cap are never served.
 * - msgs/s = usable CPUs × 1e6 / CPU µs per message, usable CPUs = min(threads that can run, CPUs given), less the
 *   client's share under shared pinning. It is compared with the measured rate only where that limit was the real
 *   one: the client was not saturated, and for a CPU limit the server used ≥ 90 % of its usable CPUs.
 * - Micro-costs are taken from the micro run's CPU set equal to the cell's server CPUs (0 for echo, 0-1 for cpu).
 */
import type { CellSummary } from './aggregate.js';
import { findMicro, type MicroRecord } from '../data/micro-record.js';
import { countCpus } from '../../lib/cpu-list.js';
import { ECHO_PROCESSES, manyProcessesId } from '../data/micro-record.js';

type Threads = 'one' | 'workers' | 'workers+main' | 'children';

/** How a model's cost is built. Adding a model to the registry means adding its shape here (a test checks). */
export type CostShape =
  | { base: 'input' }
  | { base: 'one-connection' }
  | {
      base: 'event-loop';
      perMessage?: readonly string[];
      perConnection?: readonly string[];
      threads: Threads;
      /** A process started per connection and serving only it: a burst of starts, then one frame per process wake-up. */
      startsPerConnection?: boolean;
    }
  | { base: 'none'; why: string };

export const BASE_MODEL = 'event-loop';

export const COST_SHAPES: Readonly<Record<string, CostShape>> = {
  iterative: { base: 'one-connection' },
  'event-loop': { base: 'input' },
  'cluster-rr': { base: 'event-loop', perConnection: ['handle-pass'], threads: 'workers' },
  'cluster-none': { base: 'event-loop', threads: 'workers' },
  'fork-pool': { base: 'event-loop', perConnection: ['handle-pass'], threads: 'workers' },
  'fork-per-connection': {
    base: 'event-loop',
    perConnection: ['fork-start', 'handle-pass'],
    threads: 'children',
    startsPerConnection: true,
  },
  // Its threads serve one connection each, relayed by the main thread: a MessagePort round trip per message.
  'thread-per-connection': {
    base: 'event-loop',
    perMessage: ['thread-postmessage'],
    perConnection: ['thread-start'],
    threads: 'workers+main',
  },
  'worker-threads': { base: 'event-loop', threads: 'workers' },
  piscina: { base: 'event-loop', perMessage: ['piscina-task'], threads: 'workers+main' },
  'native-epoll': { base: 'none', why: 'the C ceiling, not built from Node primitives' },
};

/** Micro primitives the model reads. */
export const MICRO_IDS = {
  oneConnection: 'tcp-rtt',
  manyProcesses: manyProcessesId(ECHO_PROCESSES),
  cpuLoop: 'cpu-loop',
  cpuLoopParallel: 'cpu-loop-all-cpus',
  forkBurst: 'fork-burst',
} as const;

export type Bound = 'cpu' | 'latency' | 'start-up';

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
  /**
   * fork-per-connection: children started at once, the seconds that takes on its CPUs, whether that eats the run, and
   * the frames each child serves inside the window (how young its processes are, beside the micro's).
   */
  startup?: { children: number; seconds: number; starved: boolean; overCap: number; framesPerChild?: number };
  usableCpus?: number;
  /** Predicted msgs/s over the measured window. */
  msgsPerSec?: number;
  /** What limits the predicted msgs/s: CPU (capacity), one connection's round trips, or the children's start-up. */
  bound?: Bound;
  measured: { cpuUsPerMsg: number; msgsPerSec: number; clientBound: boolean; serverCpuPercent: number };
  /** predicted / measured − 1 */
  cpuError?: number;
  /** Only when the row was server-bound (a client-bound row measures the client). */
  rateError?: number;
}

export interface CostModelOptions {
  /** A run's warm-up and measured window, seconds: when fork-per-connection's start-up ends against them. */
  warmupSec?: number;
  windowSec?: number;
}

export class MissingMicro extends Error {}

function micro(records: readonly MicroRecord[], id: string, cpus: string): MicroRecord {
  const r = findMicro(records, id, cpus);
  if (!r || r.cpuUsPerOp === undefined) throw new MissingMicro(`no ${id} micro-benchmark on CPUs ${cpus}`);
  return r;
}

/** The server side's CPU per operation of a socket micro-benchmark. */
function serverSide(r: MicroRecord): number {
  const server = r.cpuBySide?.server;
  if (server === undefined) throw new MissingMicro(`${r.id} on CPUs ${r.cpus} has no server side`);
  return server;
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
  const clientShare =
    cell.params.pin === 'shared' && Number.isFinite(cell.clientCpuPercent) ? cell.clientCpuPercent / 100 : 0;
  return Math.max(0.1, n - clientShare);
}

interface Estimate {
  /** Steady CPU µs per message, term by term. */
  terms: Term[];
  threads: number;
  /** A limit other than CPU: one connection's round trips, one after the other. */
  latencyRate?: number;
  perConnectionUs?: number;
  /** CPU µs to start all the children a persistent fork-per-connection run starts at once. */
  startupCpuUs?: number;
}

function estimate(
  shape: Exclude<CostShape, { base: 'none' } | { base: 'input' }>,
  cell: CellSummary,
  base: CellSummary | undefined,
  records: readonly MicroRecord[],
  work: number,
  machineCores: number,
): Estimate | string {
  const cpus = cell.serverCpus ?? 'all';
  if (shape.base === 'one-connection') {
    if (cell.params.protocol !== 'tcp') return 'the one-connection base is measured over TCP only';
    const rtt = micro(records, MICRO_IDS.oneConnection, cpus);
    const terms = [{ label: 'one-connection echo, server side', us: serverSide(rtt) }];
    let workWallUs = 0;
    if (work > 0) {
      terms.push({ label: `cpu:${work} work`, us: workCost(records, cpus, work, false) });
      const loop = micro(records, MICRO_IDS.cpuLoop, cpus);
      workWallUs = (work * loop.latency!.meanUs) / Number(loop.details?.targetUs);
    }
    // One connection at a time with `inFlight` frames out: the round trip, not the CPU, sets the pace.
    return { terms, threads: 1, latencyRate: (cell.params.inFlight * 1e6) / (rtt.latency!.meanUs + workWallUs) };
  }
  const threads = threadCount(shape.threads, cell);
  const parallel = Math.min(threads, countCpusOf(cpus, machineCores)) >= 2;
  let terms: Term[];
  if (shape.startsPerConnection && cell.params.pattern === 'persistent') {
    const steady = processPerConnection(cell, records, cpus, threads, work, parallel);
    if (typeof steady === 'string') return steady;
    terms = steady;
  } else {
    if (base?.status !== 'ok' || !Number.isFinite(base.serverCpuUsPerMsg))
      return `no measured ${BASE_MODEL} cell in this workload`;
    terms = [{ label: `${BASE_MODEL} measured`, us: base.serverCpuUsPerMsg }];
    for (const id of shape.perMessage ?? []) terms.push({ label: id, us: micro(records, id, cpus).cpuUsPerOp! });
    if (work > 0 && parallel) {
      terms.push({
        label: `cpu:${work} extra with every CPU busy`,
        us: workCost(records, cpus, work, true) - workCost(records, cpus, work, false),
      });
    }
  }
  const est: Estimate = { terms, threads };
  if (shape.perConnection) {
    est.perConnectionUs = shape.perConnection.reduce((sum, id) => sum + micro(records, id, cpus).cpuUsPerOp!, 0);
    if (cell.params.pattern === 'connect-per-request')
      terms.push({ label: `per connection (${shape.perConnection.join(' + ')})`, us: est.perConnectionUs });
  }
  if (shape.startsPerConnection && cell.params.pattern === 'persistent') {
    const burst = micro(records, MICRO_IDS.forkBurst, cpus);
    const perChild = burst.cpuUsPerOp! / Number(burst.details?.children);
    if (!(perChild > 0)) throw new MissingMicro(`${burst.id} on CPUs ${cpus} has no child count`);
    est.startupCpuUs = threadCount('children', cell) * perChild;
  }
  return est;
}

/**
 * One process per persistent connection: every message is one frame for its own process, so the steady state is the
 * echo of `children` one-connection processes sharing the CPUs (one: the one-connection echo), plus the work (at its
 * every-CPU-busy cost when the children run on several CPUs). Measured over TCP, for the micro's process count only.
 */
function processPerConnection(
  cell: CellSummary,
  records: readonly MicroRecord[],
  cpus: string,
  children: number,
  work: number,
  parallel: boolean,
): Term[] | string {
  if (cell.params.protocol !== 'tcp') return 'the per-process echo micro-benchmarks are measured over TCP only';
  let echo: Term;
  if (children === 1) {
    echo = { label: 'one-connection echo, server side', us: serverSide(micro(records, MICRO_IDS.oneConnection, cpus)) };
  } else {
    const r = micro(records, MICRO_IDS.manyProcesses, cpus);
    const processes = Number(r.details?.processes);
    if (processes !== children)
      return `the ${r.id} micro-benchmark ran ${r.details?.processes ?? '?'} processes, this cell ${children} children`;
    echo = {
      label: `${processes} fresh one-connection processes (${r.details?.framesPerProcess ?? '?'} frames each), server side`,
      us: serverSide(r),
    };
  }
  if (work === 0) return [echo];
  return [
    echo,
    {
      label: parallel ? `cpu:${work} work, every CPU busy` : `cpu:${work} work`,
      us: workCost(records, cpus, work, parallel),
    },
  ];
}

export function predictCell(
  cell: CellSummary,
  base: CellSummary | undefined,
  records: readonly MicroRecord[],
  machineCores: number,
  options: CostModelOptions = {},
): Prediction {
  const cpus = cell.serverCpus ?? 'all';
  const measured = {
    cpuUsPerMsg: cell.serverCpuUsPerMsg,
    msgsPerSec: cell.throughput.median,
    clientBound: cell.clientSaturated,
    serverCpuPercent: cell.serverCpuPercent,
  };
  const out: Prediction = {
    key: cell.key,
    workload: cell.workload,
    protocol: cell.params.protocol,
    model: cell.model,
    cpus,
    kind: 'not-predicted',
    terms: [],
    measured,
  };
  const shape = COST_SHAPES[cell.model];
  const work = workMicros(cell.params.work);
  if (!shape) return { ...out, reason: 'no cost shape for this model' };
  if (shape.base === 'none') return { ...out, reason: shape.why };
  if (work === undefined) return { ...out, reason: `work ${cell.params.work} is not CPU per message` };
  if (cell.status !== 'ok') return { ...out, reason: `the cell ${cell.status}` };
  const given = cpusGiven(cell, machineCores);
  if (shape.base === 'input')
    return {
      ...settle(out, [{ label: `${BASE_MODEL} measured`, us: cell.serverCpuUsPerMsg }], Math.min(1, given), 'cpu'),
      kind: 'input',
    };
  let est: Estimate | string;
  try {
    est = estimate(shape, cell, base, records, work, machineCores);
  } catch (error) {
    if (error instanceof MissingMicro) return { ...out, reason: error.message };
    throw error;
  }
  if (typeof est === 'string') return { ...out, reason: est };
  const usable = Math.min(est.threads, given);
  const steady = est.terms.reduce((sum, t) => sum + t.us, 0);
  const capacity = (usable * 1e6) / steady;
  const extra = est.perConnectionUs !== undefined ? { perConnectionUs: est.perConnectionUs } : {};
  if (est.startupCpuUs === undefined) {
    const latencyBound = est.latencyRate !== undefined && est.latencyRate < capacity;
    return {
      ...settle(out, est.terms, usable, latencyBound ? 'latency' : 'cpu', latencyBound ? est.latencyRate : capacity),
      ...extra,
    };
  }
  // fork-per-connection: its first connections start every child at once, at the start of the warm-up; the window
  // waits for them (bench/run/run-cell.ts readiness), so start-up CPU lands inside it only if they were not all ready.
  if (options.warmupSec === undefined || options.windowSec === undefined)
    return { ...out, reason: "needs the run's warm-up and window (npm run bench passes them)", ...extra };
  const children = threadCount('children', cell);
  const seconds = est.startupCpuUs / 1e6 / usable;
  // The window opened after every served connection's first answer (the readiness wait) and then the warm-up.
  const windowStart = options.warmupSec + (cell.readyWaitSec || 0);
  const windowEnd = windowStart + options.windowSec;
  const startup = {
    children,
    seconds,
    starved: seconds >= windowEnd,
    overCap: Math.max(0, cell.params.connections - cell.workers),
  };
  if (startup.starved)
    return {
      ...out,
      kind: 'predicted',
      terms: est.terms,
      usableCpus: usable,
      msgsPerSec: 0,
      bound: 'start-up',
      startup,
      ...extra,
    };
  // Children are taken to be ready together at `seconds` and to serve at full capacity after; the start-up CPU
  // spent inside the window is spread over the messages answered in it.
  const messages = capacity * (windowEnd - Math.max(windowStart, seconds));
  const startupInWindow = est.startupCpuUs * (Math.max(0, seconds - windowStart) / seconds);
  const terms =
    startupInWindow > 0
      ? [...est.terms, { label: 'start-up CPU inside the window', us: startupInWindow / messages }]
      : est.terms;
  return {
    ...settle(out, terms, usable, 'start-up', messages / options.windowSec),
    startup: { ...startup, framesPerChild: messages / children },
    ...extra,
  };
}

function countCpusOf(cpus: string, machineCores: number): number {
  return cpus === 'all' ? machineCores : countCpus(cpus);
}

/** A server at ≥ 90 % of the CPUs it could use was the bottleneck: its msgs/s is its capacity. */
export const SATURATED_SHARE = 0.9;

function settle(
  out: Prediction,
  terms: Term[],
  usable: number,
  bound: Bound,
  rate = (usable * 1e6) / terms.reduce((sum, t) => sum + t.us, 0),
): Prediction {
  const cpu = terms.reduce((sum, t) => sum + t.us, 0);
  const m = out.measured;
  // Throughput is comparable only where the predicted limit was the real one: not when the client set the pace,
  // and for a CPU limit only when the server's CPU was (nearly) all used.
  const serverSaturated = Number.isFinite(m.serverCpuPercent) && m.serverCpuPercent >= SATURATED_SHARE * usable * 100;
  const comparable = !m.clientBound && (bound !== 'cpu' || serverSaturated) && m.msgsPerSec > 0;
  return {
    ...out,
    kind: 'predicted',
    terms,
    cpuUsPerMsg: cpu,
    usableCpus: usable,
    bound,
    msgsPerSec: rate,
    ...(Number.isFinite(m.cpuUsPerMsg) && m.cpuUsPerMsg > 0 ? { cpuError: cpu / m.cpuUsPerMsg - 1 } : {}),
    ...(comparable ? { rateError: rate / m.msgsPerSec - 1 } : {}),
  };
}

/** Predictions for every cell whose workload the model covers (work none or cpu:<µs>, closed loop). */
export function predictSuite(
  cells: readonly CellSummary[],
  records: readonly MicroRecord[],
  machineCores: number,
  options: CostModelOptions = {},
): Prediction[] {
  const covered = cells.filter(
    (c) => workMicros(c.params.work) !== undefined && c.params.rate === undefined && c.model in COST_SHAPES,
  );
  return covered.map((cell) => {
    const base = cells.find(
      (c) => c.model === BASE_MODEL && c.workload === cell.workload && c.params.protocol === cell.params.protocol,
    );
    return predictCell(cell, base, records, machineCores, options);
  });
}

/** The Node models' predictions whose CPU per message is within ±tolerance of the measured one, of those compared. */
export function withinTolerance(
  predictions: readonly Prediction[],
  tolerance = 0.25,
): { within: Prediction[]; compared: Prediction[] } {
  const compared = predictions.filter((p) => p.kind === 'predicted' && p.cpuError !== undefined);
  return { within: compared.filter((p) => Math.abs(p.cpuError!) <= tolerance), compared };
}
