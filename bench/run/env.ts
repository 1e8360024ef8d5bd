/** The context every record carries, so a number can be traced to the machine and commit that produced it. */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Environment } from '../data/record.js';

function git(args: string[]): string | undefined {
  const r = spawnSync('git', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function captureEnvironment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    gitCommit: git(['rev-parse', '--short=12', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    hostname: os.hostname(),
    taskset: process.platform === 'linux' && hasCommand('taskset'),
  };
}

/** The soft open-files limit child processes inherit, or undefined when it cannot be read. */
export function openFilesLimit(): number | undefined {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(n) && n > 0 ? n : undefined; // "unlimited" → undefined
}

/**
 * The running kernel's boot id (Linux): the same in every network namespace of one machine, different on another
 * machine. Tells whether a serve agent shares this machine's CPUs. Undefined where it cannot be read.
 */
export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
