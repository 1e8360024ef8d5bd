/**
 * RunRecord: one measured (or skipped, or failed) run of one cell, self-describing: its parameters, the server's
 * resources, the driver's LoadResult and the machine it ran on. Everything downstream (tables, Markdown, CSV,
 * charts, the regression gate) is a function of a list of these.
 */
import type { Objective } from './slo.js';
import type { LoadResult } from '../../clients/load-result.js';
import type { PinMode, WorkloadParams } from './axes.js';

export const RECORD_SCHEMA = 1;

/** A cell's parameters: its workload's value of every axis (bench/data/axes.ts). */
export type CellParams = WorkloadParams;
export type { PinMode };

export interface Environment {
  node: string;
  cpuModel: string;
  cores: number;
  os: string;
  gitCommit: string;
  gitDirty: boolean;
  hostname: string;
  taskset: boolean;
}

/** The machine a server ran on when a serve agent started it there (absent: this machine, as `env` says). */
export interface AgentHost extends Environment {
  /** HOST:PORT the bench reached the agent at. */
  address: string;
  /** The agent runs on the bench's own machine (another network namespace, or loopback): same CPUs, same load. */
  sameMachine: boolean;
}

export interface ServerUsage {
  /** CPU time of the server's whole process tree over the window, % of one core (by the clock cpuClock names). */
  cpuPercent: number;
  /**
   * schedstat: nanoseconds on a CPU per thread; ticks: /proc/<pid>/stat in 10 ms ticks (used when a thread ended in
   * the window). Absent in records from before the nanosecond clock: ticks.
   */
  cpuClock?: 'schedstat' | 'ticks';
  /** The same by the tick clock, for comparison. */
  cpuTickPercent?: number;
  /** Threads in the tree at the end of the window. */
  threads?: number;
  /** Read- and write-like syscalls of the tree in the window (/proc/<pid>/io syscr, syscw). */
  syscalls?: { read: number; write: number };
  /** Context switches of the tree's threads in the window (threads that ended in it are not counted). */
  contextSwitches?: { voluntary: number; involuntary: number };
  /** Highest summed RSS of the process tree seen during the window (a forked child's shared pages count again in it). */
  rssPeakBytes: number;
  /** The tree's proportional set size when the window closed: shared pages counted once (absent in older records). */
  pssBytes?: number;
  /** Processes in the tree at the end of the window (primary + workers/children). */
  processes: number;
  /** Share of the machine's CPU time the hypervisor took (steal) during the window: a contended VM. */
  hostStealPercent?: number;
  /** CPU time the whole machine spent running anything during the window, % of one core. */
  hostBusyPercent?: number;
  /** CPU of the user-space processes that are neither the server's tree nor the bench's own (with its driver). */
  otherProcessesPercent?: number;
  /** The busiest of those (≥ 5 % of a CPU in the window), with their commands: who competed with the run. */
  busiestOthers?: { pid: number; command: string; cpuPercent: number }[];
  /** Each CPU's busy share of the window, %, by CPU id (server, driver and anything else together). */
  cpuBusyPercent?: Record<number, number>;
  /**
   * What competed with the run, % of one core: other user-space processes (kernel threads work for the run too and
   * are not counted; with a server on an agent of this machine, the bench's driver is taken off). Older records:
   * hostBusyPercent − server − client. High values mean the run competed for CPU with something else.
   */
  otherLoadPercent?: number;
}

/** interrupted: cut short by Ctrl-C/SIGTERM; like errored and skipped, it is never ranked. */
export type RunStatus = 'ok' | 'errored' | 'skipped' | 'interrupted';

/** How the suite decided how many runs a cell gets (the same in every record of a suite). */
export interface RunPlan {
  /** Runs every cell gets. */
  minRuns: number;
  /** At most this many while the interval is wider than the target. */
  maxRuns: number;
  /** The verdict's equivalence margin, % (absent in older records: the default). */
  marginPercent?: number;
}

export type Side = 'base' | 'head';

/** The CPU split a run used, as printed before the suite. */
export interface RecordedSplit {
  mode: PinMode;
  /** taskset lists; absent: unpinned. */
  server?: string;
  client?: string;
  /** Load driver threads (the native driver pins one per client CPU). */
  driverThreads?: number;
  describe: string;
  /** Why: the capacities it was sized from and the headroom they leave. */
  why?: string;
}

/** What every record says, whatever became of the run. */
interface RecordBase {
  schema: typeof RECORD_SCHEMA;
  /** The bench invocation this run belongs to. */
  suiteId: string;
  time: string;
  workload: string;
  model: string;
  /** 0-based repetition index of this cell. */
  run: number;
  /** 0-based round of the suite's schedule this run belonged to (runs of one round ran back to back). */
  round?: number;
  plan?: RunPlan;
  params: CellParams;
  /**
   * --against REF: which code measured this run, the revision's (base) or the working tree's (head); both in the same
   * rounds. Absent in a suite of one side.
   */
  side?: Side;
  /**
   * A run of a block (bench/run/run-block.ts): the servers of the block stayed up through the round and took turns,
   * `windows` windows each of `windowSec`; the result and usage are its windows summed. Records of one block share
   * their workload and round, and are compared as pairs: --against, the two sides of a cell (`first`, the side that
   * measured first; the gate); models taking turns, the models of a row (`members`; the verdict).
   */
  block?: {
    windows: number;
    windowSec: number;
    settleSec: number;
    first?: Side;
    members?: string[];
    /** Each window's msgs/s, in the order measured (absent in older records). */
    rates?: number[];
    /** Seconds its server went on working after its windows (waited out before the next window; absent: < 0.1 s). */
    busyAfterSec?: number;
  };
  /**
   * A step of a capacity search (--slo): the objective searched for, the rate this run was offered (open loop) and
   * the rate the search started from; `fixed` when the rate was the workload's own (open loop already): the objective
   * is checked at it, not searched; `again` when the reference was searched again after every model's search (the
   * machine's drift over the search). Such runs are not the cell's timed runs; bench/judge/capacity.ts reads them.
   */
  slo?: { objective: Objective; rate: number; start: number; cap?: number; fixed?: true; again?: true };
  /** --handler: how the handler's answers were checked (bytes, length or none) and how many distinct requests were sent. */
  answers?: { verify: 'bytes' | 'length' | 'none'; requests: number };
  /** The measured window and the warmup before it, seconds (absent in older records). */
  window?: { warmupSec: number; durationSec: number };
  /** How the CPUs were split between server and driver for this run (absent in older records). */
  split?: RecordedSplit;
  env: Environment;
}

/** A run that measured: the server's resources and the driver's result. */
export interface OkRecord extends RecordBase {
  status: 'ok';
  /** Set on an ok run that does not count (e.g. the hypervisor stole too much CPU during it); it was repeated. */
  discarded?: string;
  /**
   * Set on a run that counts although it was disturbed: a disturbance had persisted and the user chose to measure on
   * (--if-disturbed keep). What disturbed it.
   */
  disturbed?: string;
  /** Something to know about a run that still counts (a server that had to be killed at the end). */
  reason?: string;
  /** The server ignored SIGTERM and was killed (a measured failure of the server, though its figures count). */
  stopForced?: boolean;
  server: {
    workers: number;
    cpus: string;
    details?: Record<string, string | number | boolean>;
    usage?: ServerUsage;
    /** Set when the server ran on another host, started by `npm run agent`. */
    agent?: AgentHost;
  };
  clientCpus?: string;
  result: LoadResult;
  /** Set under --counts: what the server executed in the counted window, summed over its process tree. */
  counts?: Counts;
}

/** Instructions counted by callgrind over one window of a known number of messages (npm run bench -- --counts). */
export interface Counts {
  /** Instructions executed in user space (callgrind's Ir), every process of the server's tree. */
  instructions: number;
  /** Verified messages the driver counted in that window. */
  messages: number;
  /** Processes whose dumps were summed. */
  processes: number;
  /** Windows run first and thrown away until the count per message settled (the JIT warming up). */
  warmWindows: number;
  /** Each counted window's instructions per message, in order (their median is the run's count). */
  windowPerMessage?: number[];
  /** Read- and write-like syscalls of the tree during the counted windows (their messages are `messages`). */
  syscalls?: number;
}

/** A run that did not measure: the model unavailable (skipped), a failure (errored), or cut short (interrupted). */
export interface NotRunRecord extends RecordBase {
  status: Exclude<RunStatus, 'ok'>;
  reason: string;
}

/** One run of one cell; `status` says which of the two it is. */
export type RunRecord = OkRecord | NotRunRecord;

export function isOk(r: RunRecord): r is OkRecord {
  return r.status === 'ok';
}

/** A stable key for a cell (workload × model), used to group repetitions and to match baselines. */
export function cellKey(
  r: Pick<RunRecord, 'workload' | 'model' | 'side'> & { params: Pick<CellParams, 'protocol'> },
): string {
  return `${r.params.protocol}/${r.workload}/${r.model}${r.side ? `@${r.side}` : ''}`;
}

/** An --against suite's records, base and head, each without its side (so their cells match). */
export function splitSides(records: readonly RunRecord[]): [RunRecord[], RunRecord[]] {
  const strip = (side: 'base' | 'head'): RunRecord[] =>
    records.filter((r) => r.side === side).map(({ side: _s, ...r }) => r as RunRecord);
  return [strip('base'), strip('head')];
}

/** Records of the load driver's own ceiling (not a model) are named "ceiling:<server>". */
export const CEILING_PREFIX = 'ceiling:';

export function isCeiling(model: string): boolean {
  return model.startsWith(CEILING_PREFIX);
}
