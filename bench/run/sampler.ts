/**
 * Server resource use over a window, summed over the server's whole process tree (primary, cluster workers, forked
 * children; threads are inside their process), all read from /proc:
 *   - CPU time two ways: utime+stime+cutime+cstime of /proc/<pid>/stat (10 ms ticks; children reaped during the
 *     window still count, their time moves into the parent's cutime), and the nanoseconds each thread spent on a
 *     CPU (/proc/<pid>/task/<tid>/schedstat). At 5 % CPU a 3 s window holds ~150 ms of CPU, 15 ticks: the tick clock
 *     alone gave ±7 % intervals from rounding. The nanosecond clock is used unless a thread ended inside the window
 *     (its time is then only known to the tick clock);
 *   - read- and write-like syscalls (/proc/<pid>/io syscr, syscw: a process's threads, living and ended, and its
 *     reaped children; epoll_wait, accept, sendmsg and the like are not in them);
 *   - voluntary and involuntary context switches (/proc/<pid>/task/<tid>/status, per thread: a thread that ends in
 *     the window takes its count with it);
 *   - RSS, polled, so the peak is seen.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pidtree from 'pidtree';
import type { ServerUsage } from '../data/record.js';
import { pssBytes } from './memory.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

/** Counters summed over a process tree at one moment. */
interface TreeSample {
  cpuSeconds: number;
  rssBytes: number;
  processes: number;
  syscalls: { read: number; write: number };
  contextSwitches: { voluntary: number; involuntary: number };
  /** Nanoseconds on a CPU by thread id, for every thread alive now. */
  taskNs: Map<number, number>;
  pids: number[];
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // exited between listing and reading
  }
}

/** CPU seconds of a process itself and of its reaped children (utime+stime, cutime+cstime), and its RSS. */
function readProcStat(
  pid: number | 'self',
): { ownSeconds: number; reapedSeconds: number; rssBytes: number } | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command name (which may contain spaces) start at index 0 = state (field 3).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    ownSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    reapedSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
    rssBytes: Number(fields[21]) * PAGE_BYTES,
  };
}

/** CPU µs of this process's children that exited and were reaped (10 ms resolution); NaN without /proc. */
export function reapedChildrenCpuUs(): number {
  const p = readProcStat('self');
  return p ? p.reapedSeconds * 1e6 : NaN;
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function listTasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

async function treePids(rootPid: number): Promise<number[]> {
  try {
    return await pidtree(rootPid, { root: true });
  } catch {
    return [rootPid];
  }
}

/** The light sample polled during the window: RSS and which threads exist (no per-thread file reads). */
async function pollTree(rootPid: number): Promise<{ rssBytes: number; tids: number[] }> {
  let rssBytes = 0;
  const tids: number[] = [];
  for (const pid of await treePids(rootPid)) {
    const p = readProcStat(pid);
    if (!p) continue;
    rssBytes += p.rssBytes;
    for (const tid of listTasks(pid)) tids.push(Number(tid));
  }
  return { rssBytes, tids };
}

async function sampleTree(rootPid: number): Promise<TreeSample> {
  const s: TreeSample = {
    cpuSeconds: 0,
    rssBytes: 0,
    processes: 0,
    syscalls: { read: 0, write: 0 },
    contextSwitches: { voluntary: 0, involuntary: 0 },
    taskNs: new Map(),
    pids: [],
  };
  for (const pid of await treePids(rootPid)) {
    const p = readProcStat(pid);
    if (!p) continue;
    s.pids.push(pid);
    s.cpuSeconds += p.ownSeconds + p.reapedSeconds;
    s.rssBytes += p.rssBytes;
    s.processes++;
    const io = read(`/proc/${pid}/io`);
    if (io) {
      s.syscalls.read += field(io, 'syscr');
      s.syscalls.write += field(io, 'syscw');
    }
    for (const tid of listTasks(pid)) {
      const status = read(`/proc/${pid}/task/${tid}/status`);
      if (status) {
        s.contextSwitches.voluntary += field(status, 'voluntary_ctxt_switches');
        s.contextSwitches.involuntary += field(status, 'nonvoluntary_ctxt_switches');
      }
      const sched = read(`/proc/${pid}/task/${tid}/schedstat`);
      if (sched) s.taskNs.set(Number(tid), Number(sched.split(' ')[0]));
    }
  }
  return s;
}

/**
 * Nanoseconds the tree's threads spent on a CPU between two samples, or undefined when a thread seen at the first
 * (or polled in between) was gone at the last: its time since the last look is unknown to this clock. Threads born
 * in the window count whole. Pure.
 */
export function taskCpuNs(
  first: ReadonlyMap<number, number>,
  last: ReadonlyMap<number, number>,
  seen: ReadonlySet<number> = new Set(first.keys()),
): number | undefined {
  let ns = 0;
  for (const tid of seen) if (!last.has(tid)) return undefined;
  for (const [tid, now] of last) ns += now - (first.get(tid) ?? 0);
  return ns;
}

/**
 * Cumulative CPU ticks of the whole machine from /proc/stat: all of them, those stolen by the hypervisor, and those
 * spent running anything (user, nice, system, irq, softirq); and the same busy ticks and totals per CPU.
 */
function readHostTicks():
  | { total: number; steal: number; busy: number; perCpu: { id: number; total: number; busy: number }[] }
  | undefined {
  const text = read('/proc/stat');
  if (!text) return undefined;
  const parse = (line: string) => {
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    return {
      total: user + nice + system + idle + iowait + irq + softirq + steal,
      steal,
      busy: user + nice + system + irq + softirq,
    };
  };
  const lines = text.split('\n');
  const perCpu = lines
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => ({ id: Number(/^cpu(\d+)/.exec(l)![1]), ...parse(l) }));
  return { ...parse(lines[0]!), perCpu: perCpu.map(({ id, total, busy }) => ({ id, total, busy })) };
}

/** CPU seconds and command of one process that is not a kernel thread, from its stat line. */
interface OtherProcess {
  seconds: number;
  command: string;
}

/**
 * Every user-space process of the machine that is neither in `exclude` nor a kernel thread, with its CPU seconds
 * (kernel threads such as DAMON's kdamond work for whatever runs, the measured server included: here it spent
 * 15–25 % of a CPU while fork-per-connection's 33 processes held 1.6 GB, and made every such run look contended).
 */
function otherProcesses(exclude: ReadonlySet<number>): Map<number, OtherProcess> | undefined {
  const out = new Map<number, OtherProcess>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (exclude.has(pid)) continue;
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // ppid 2 (kthreadd) or pid 2 itself: a kernel thread. PF_KTHREAD would say the same from the flags field.
    if (pid === 2 || fields[1] === '2') continue;
    out.set(pid, {
      seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    });
  }
  return out;
}

/**
 * The other processes' CPU over a window, % of one core, and the busiest of them (those that used ≥ 5 %), from two
 * looks. A process that exited in the window drops out of the second look: its share is lost, never negative. Pure.
 */
export function otherLoad(
  before: ReadonlyMap<number, OtherProcess>,
  after: ReadonlyMap<number, OtherProcess>,
  wallSec: number,
): { percent: number; busiest: { pid: number; command: string; cpuPercent: number }[] } {
  let seconds = 0;
  const each: { pid: number; command: string; cpuPercent: number }[] = [];
  for (const [pid, p] of after) {
    const used = Math.max(0, p.seconds - (before.get(pid)?.seconds ?? 0));
    seconds += used;
    if (used > 0) each.push({ pid, command: p.command, cpuPercent: (used / wallSec) * 100 });
  }
  const busiest = each
    .filter((p) => p.cpuPercent >= 5)
    .sort((a, b) => b.cpuPercent - a.cpuPercent)
    .slice(0, 3);
  return { percent: (seconds / wallSec) * 100, busiest };
}

function otherFigures(o: ReturnType<typeof otherLoad>): Pick<ServerUsage, 'otherProcessesPercent' | 'busiestOthers'> {
  return { otherProcessesPercent: o.percent, ...(o.busiest.length > 0 ? { busiestOthers: o.busiest } : {}) };
}

/** Each CPU's busy share of its own time between two looks, %, by CPU id. Pure. */
export function busyByCpu(
  before: readonly { id: number; total: number; busy: number }[],
  after: readonly { id: number; total: number; busy: number }[],
): Record<number, number> {
  const out: Record<number, number> = {};
  for (const a of after) {
    const b = before.find((x) => x.id === a.id);
    if (b && a.total > b.total) out[a.id] = Math.round(((a.busy - b.busy) / (a.total - b.total)) * 1000) / 10;
  }
  return out;
}

/** This process and everything it started (the bench, its load driver): what measures, not what competes. */
async function ownTree(): Promise<number[]> {
  return treePids(process.pid);
}

export function procAvailable(): boolean {
  return readProcStat(process.pid) !== undefined;
}

export interface ServerSampler {
  /** Stops sampling and returns the window's usage. */
  finish(): Promise<ServerUsage | undefined>;
}

/** Starts sampling now; finish() returns the window's usage. RSS and the set of threads are polled. */
export async function startServerSampler(rootPid: number, pollIntervalMs = 500): Promise<ServerSampler> {
  if (!procAvailable()) return { finish: async () => undefined };
  const t0 = performance.now();
  const host0 = readHostTicks();
  const first = await sampleTree(rootPid);
  const excluded = async (): Promise<Set<number>> => new Set([...(await ownTree()), ...(await treePids(rootPid))]);
  const other0 = otherProcesses(await excluded());
  let rssPeak = first.rssBytes;
  const seen = new Set(first.taskNs.keys());
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    // Light on purpose: a full sample of fork-per-connection's 33 processes × 11 threads every 500 ms was itself
    // 15–25 % of a CPU, and set its runs aside as "other load".
    void pollTree(rootPid).then((s) => {
      rssPeak = Math.max(rssPeak, s.rssBytes);
      for (const tid of s.tids) seen.add(tid);
      polling = false;
    });
  }, pollIntervalMs);
  timer.unref(); // a window that never closes must not keep the process alive
  return {
    async finish() {
      clearInterval(timer);
      const last = await sampleTree(rootPid);
      // A tree that is gone has no figures for this window (a CPU share from it would be negative, not a measurement).
      if (last.processes === 0 || !last.pids.includes(rootPid))
        throw new Error("the server's process was gone when the window closed");
      const other1 = otherProcesses(await excluded());
      const wall = (performance.now() - t0) / 1000;
      const host1 = readHostTicks();
      const hostTicks = host0 && host1 ? host1.total - host0.total : 0;
      const ns = taskCpuNs(first.taskNs, last.taskNs, seen);
      const tickPercent = wall > 0 ? ((last.cpuSeconds - first.cpuSeconds) / wall) * 100 : 0;
      return {
        cpuPercent: ns !== undefined && wall > 0 ? (ns / 1e9 / wall) * 100 : tickPercent,
        cpuClock: ns !== undefined ? 'schedstat' : 'ticks',
        cpuTickPercent: tickPercent,
        rssPeakBytes: Math.max(rssPeak, last.rssBytes),
        pssBytes: pssBytes(last.pids),
        processes: last.processes,
        threads: last.taskNs.size,
        syscalls: { read: last.syscalls.read - first.syscalls.read, write: last.syscalls.write - first.syscalls.write },
        contextSwitches: {
          voluntary: Math.max(0, last.contextSwitches.voluntary - first.contextSwitches.voluntary),
          involuntary: Math.max(0, last.contextSwitches.involuntary - first.contextSwitches.involuntary),
        },
        ...(host0 && host1 && hostTicks > 0
          ? {
              hostStealPercent: ((host1.steal - host0.steal) / hostTicks) * 100,
              hostBusyPercent: wall > 0 ? ((host1.busy - host0.busy) / CLOCK_TICKS / wall) * 100 : 0,
            }
          : {}),
        // A process that exited in the window drops out of the second sum: clamped at zero, never negative.
        ...(other0 && other1 && wall > 0 ? otherFigures(otherLoad(other0, other1, wall)) : {}),
        ...(host0 && host1 && wall > 0 ? { cpuBusyPercent: busyByCpu(host0.perCpu, host1.perCpu) } : {}),
      };
    },
  };
}
