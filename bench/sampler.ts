/**
 * Server resource use over a window: CPU time and RSS summed over the server's whole process tree (primary,
 * cluster workers, forked children; threads are inside their process). CPU comes from /proc/<pid>/stat
 * utime+stime+cutime+cstime, so children that exit and are reaped during the window still count (their time moves
 * into the parent's cutime).
 */
import { readFileSync } from 'node:fs';
import pidtree from 'pidtree';
import type { ServerUsage } from './record.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

interface TreeSample {
  cpuSeconds: number;
  rssBytes: number;
  processes: number;
}

/** CPU seconds of a process itself and of its reaped children (utime+stime, cutime+cstime), and its RSS. */
function readProcStat(pid: number | 'self'): { ownSeconds: number; reapedSeconds: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at index 0 = state (field 3).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ownSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      reapedSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return undefined; // exited between listing and reading
  }
}

function readProc(pid: number): { cpuSeconds: number; rssBytes: number } | undefined {
  const p = readProcStat(pid);
  return p && { cpuSeconds: p.ownSeconds + p.reapedSeconds, rssBytes: p.rssBytes };
}

/** CPU µs of this process's children that exited and were reaped (10 ms resolution); NaN without /proc. */
export function reapedChildrenCpuUs(): number {
  const p = readProcStat('self');
  return p ? p.reapedSeconds * 1e6 : NaN;
}

async function sampleTree(rootPid: number): Promise<TreeSample> {
  let pids: number[] = [];
  try {
    pids = await pidtree(rootPid, { root: true });
  } catch {
    pids = [rootPid];
  }
  let cpuSeconds = 0;
  let rssBytes = 0;
  let processes = 0;
  for (const pid of pids) {
    const p = readProc(pid);
    if (!p) continue;
    cpuSeconds += p.cpuSeconds;
    rssBytes += p.rssBytes;
    processes++;
  }
  return { cpuSeconds, rssBytes, processes };
}

/**
 * Cumulative CPU ticks of the whole machine from /proc/stat: all of them, those stolen by the hypervisor, and those
 * spent running anything (user, nice, system, irq, softirq).
 */
function readHostTicks(): { total: number; steal: number; busy: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: user + nice + system + idle + iowait + irq + softirq + steal, steal, busy: user + nice + system + irq + softirq };
  } catch {
    return undefined;
  }
}

export function procAvailable(): boolean {
  return readProc(process.pid) !== undefined;
}

export interface ServerSampler {
  /** Stops sampling and returns the window's usage. */
  finish(): Promise<ServerUsage | undefined>;
}

/** Starts sampling now; finish() returns the window's usage. RSS is polled so the peak is seen. */
export async function startServerSampler(rootPid: number, rssIntervalMs = 500): Promise<ServerSampler> {
  if (!procAvailable()) return { finish: async () => undefined };
  const t0 = performance.now();
  const host0 = readHostTicks();
  const first = await sampleTree(rootPid);
  let rssPeak = first.rssBytes;
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void sampleTree(rootPid).then((s) => {
      rssPeak = Math.max(rssPeak, s.rssBytes);
      polling = false;
    });
  }, rssIntervalMs);
  timer.unref(); // a window that never closes must not keep the process alive
  return {
    async finish() {
      clearInterval(timer);
      const last = await sampleTree(rootPid);
      const wall = (performance.now() - t0) / 1000;
      const host1 = readHostTicks();
      const hostTicks = host0 && host1 ? host1.total - host0.total : 0;
      return {
        cpuPercent: wall > 0 ? ((last.cpuSeconds - first.cpuSeconds) / wall) * 100 : 0,
        rssPeakBytes: Math.max(rssPeak, last.rssBytes),
        processes: last.processes,
        ...(host0 && host1 && hostTicks > 0
          ? { hostStealPercent: ((host1.steal - host0.steal) / hostTicks) * 100, hostBusyPercent: wall > 0 ? ((host1.busy - host0.busy) / CLOCK_TICKS / wall) * 100 : 0 }
          : {}),
      };
    },
  };
}
