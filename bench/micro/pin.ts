/**
 * Pins this whole process (every thread it has, and so every thread and child it starts later) to a CPU list with
 * taskset, the way the suite pins its servers, and reads back what the kernel applied.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';

/** The CPUs this process may run on now (Cpus_allowed_list), or undefined without /proc. */
export function allowedCpus(): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Pins every thread of this process to `cpus` ("all" = every CPU of the machine); returns the list applied. */
export function pinProcess(cpus: string): string {
  const list = cpus === 'all' ? `0-${os.availableParallelism() - 1}` : cpus;
  const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`taskset could not pin to CPUs ${list}: ${(r.stderr || r.error?.message || '').trim()}`);
  return allowedCpus() ?? list;
}
