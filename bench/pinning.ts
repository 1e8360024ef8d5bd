/**
 * Splits this machine's CPUs between server and client. `separate` gives the client the last CPU and the server the
 * rest, so neither steals the other's cycles; `shared` lets the server use every CPU (for parallel models doing CPU
 * work) with the client on the last one too; `off` pins nothing. Without taskset every mode degrades to `off`, and
 * the split printed says so.
 */
import os from 'node:os';
import type { PinMode } from './record.js';

export interface CpuSplit {
  mode: PinMode;
  /** taskset -c lists; undefined = unpinned. */
  server?: string;
  client?: string;
  /** CPUs the server may use: the default worker count. */
  serverCpuCount: number;
  describe: string;
}

export function cpuSplit(mode: PinMode, tasksetAvailable: boolean, cpuCount = os.availableParallelism()): CpuSplit {
  const all = cpuCount;
  if (mode === 'off' || !tasksetAvailable || all < 2) {
    const why = mode === 'off' ? 'pinning off' : !tasksetAvailable ? 'taskset not available' : 'only one CPU';
    return { mode: 'off', serverCpuCount: all, describe: `unpinned (${why}): server and client share ${all} CPU(s)` };
  }
  const last = all - 1;
  const range = (from: number, to: number): string => (from === to ? `${from}` : `${from}-${to}`);
  if (mode === 'separate') {
    return {
      mode,
      server: range(0, last - 1),
      client: `${last}`,
      serverCpuCount: last,
      describe: `server on CPU ${range(0, last - 1)}, client on CPU ${last}`,
    };
  }
  return {
    mode,
    server: range(0, last),
    client: `${last}`,
    serverCpuCount: all,
    describe: `server on CPUs ${range(0, last)}, client on CPU ${last} (shared with the server)`,
  };
}
