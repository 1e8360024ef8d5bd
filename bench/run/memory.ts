/**
 * A server's memory, and the guard that stops a runaway before the machine swaps. Memory is measured as PSS
 * (proportional set size, /proc/PID/smaps_rollup): a forked child's pages shared with its parent are counted once,
 * split between the processes that share them, where summed RSS counts them again in every child
 * (fork-per-connection's 33 processes showed 1.5 GiB of RSS). Reading smaps_rollup costs ~0.2 ms a Node process
 * (6 ms for 33), so the guard polls the cheap RSS of the server's process group (one scan of /proc/*\/stat, ~1 ms)
 * and reads PSS only once the RSS alone passes the cap (RSS ≥ PSS, so nothing is missed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const PAGE_BYTES = 4096;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Pids and RSS of every process whose process group is `pgid` (a server started detached leads its own group). */
export function groupProcesses(pgid: number): { pid: number; rssBytes: number }[] {
  const out: { pid: number; rssBytes: number }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    // After "pid (comm) ": state ppid pgrp … (field 5 is the process group, 24 the RSS in pages).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid || fields[0] === 'Z') continue; // a zombie runs nothing and holds no memory
    out.push({ pid: Number(name), rssBytes: Number(fields[21]) * PAGE_BYTES });
  }
  return out;
}

/** PSS of some processes, summed (bytes); a process that has gone counts nothing. */
export function pssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const text = read(`/proc/${pid}/smaps_rollup`);
    const m = text ? /^Pss:\s+(\d+)/m.exec(text) : null;
    if (m) kb += Number(m[1]);
  }
  return kb * 1024;
}

/** The default cap on one server's memory: half of the machine's (a runaway stops long before it swaps). */
export function defaultMemoryCapBytes(): number {
  return Math.floor(os.totalmem() / 2);
}

export interface MemoryGuard {
  /** Why the guard stopped the server, once it did. */
  tripped(): string | undefined;
  stop(): void;
}

/**
 * Watches the process group `pgid` every `intervalMs`; when its PSS passes `capBytes`, calls `onTrip` with why (which
 * should kill the group) and stops watching.
 */
export function guardMemory(
  pgid: number,
  capBytes: number,
  onTrip: (why: string) => void,
  intervalMs = 500,
): MemoryGuard {
  let why: string | undefined;
  const timer = setInterval(() => {
    const group = groupProcesses(pgid);
    const rss = group.reduce((s, p) => s + p.rssBytes, 0);
    if (rss <= capBytes) return;
    const pss = pssBytes(group.map((p) => p.pid));
    if (pss <= capBytes) return;
    clearInterval(timer);
    why = `the memory guard stopped it: its ${group.length} process(es) held ${mib(pss)} (PSS), past the cap of ${mib(capBytes)} (--memory-cap)`;
    onTrip(why);
  }, intervalMs);
  timer.unref();
  return { tripped: () => why, stop: () => clearInterval(timer) };
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}
