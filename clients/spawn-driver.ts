/**
 * The one way a load driver process is started: pinned with taskset to the driver's CPUs, or raised to SCHED_FIFO
 * with chrt (the counted windows' driver: it must answer before any ordinary process runs), and tracked so that it
 * ends with the command that started it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { track } from '../lib/lifecycle.js';

export interface DriverLaunch {
  command: string;
  args: readonly string[];
  /** taskset CPU list; undefined runs unpinned. */
  cpus?: string;
  /** Run at SCHED_FIFO priority 1 (needs root or CAP_SYS_NICE; the caller checks). */
  fifo?: boolean;
}

export function spawnDriver(launch: DriverLaunch): ChildProcessWithoutNullStreams {
  let argv = [launch.command, ...launch.args];
  if (launch.fifo) argv = ['chrt', '-f', '1', ...argv];
  if (launch.cpus !== undefined) argv = ['taskset', '-c', launch.cpus, ...argv];
  return track(spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
}
