/**
 * Where the servers under test run. The bench asks a ServerHost for CPU splits, the cpu-work calibration and
 * servers, and gets handles that know the address a driver must target, sample the server's CPU and RSS where it
 * runs, and stop it. `localHost` runs them on this machine; `connectAgent` (remote-host.ts) on the machine of a
 * serve agent. The run loop does not know which.
 */
import { spawnSync } from 'node:child_process';
import { startServer, type ServerLaunch, type ServerProcess } from './server-process.js';
import { startServerSampler, type ServerSampler } from './sampler.js';
import {
  ASSUMED_CAPACITIES,
  planSplit,
  readTopology,
  type Capacities,
  type CpuSplit,
  type SplitNeed,
  type SplitOverrides,
} from './pinning.js';
import { compiled } from '../../lib/paths.js';
import type { ReadyInfo } from '../../servers/protocol.js';
import type { AgentHost, PinMode } from '../data/record.js';

export type { ServerSampler };

export type StopResult = Awaited<ReturnType<ServerProcess['stop']>>;

export interface ServerHandle {
  ready: ReadyInfo;
  /** The address a load driver targets to reach this server. */
  host: string;
  /** Set when the server runs on an agent's machine. */
  agent?: AgentHost;
  /** Starts sampling the server's process tree now (over the measured window). */
  startSampler(): Promise<ServerSampler>;
  /** Why the server ended before it was asked to stop (it died, or the memory guard stopped it), once it has. */
  died?(): string | undefined;
  /** Resolves with that reason the moment it happens (never, for a server that is stopped as asked). */
  whenDied?: Promise<string>;
  /** SIGTERM, then SIGKILL to the whole group after timeoutMs. */
  stop(timeoutMs?: number): Promise<StopResult>;
}

export interface ServerHost {
  /** "this machine", or the agent and its hostname. */
  describe: string;
  agent?: AgentHost;
  /** How this host splits its CPUs for a pin mode and a cell (the server part is where servers are pinned). */
  cpuSplit(mode: PinMode, need?: SplitNeed): CpuSplit;
  /** Spin-loop iterations per µs on a server CPU: one rate for every model of the suite. */
  calibrateCpuRate(split: CpuSplit): Promise<number>;
  /** Starts a server and waits for its ready line. `launch.pin` selects the split on hosts that pin by themselves. */
  start(launch: ServerLaunch): Promise<ServerHandle>;
  close(): Promise<void>;
}

/** A server process of this machine as a handle (also used for nginx, the HTTP ceiling). */
export function localHandle(server: ServerProcess): ServerHandle {
  let stopping = false;
  const died = (): string | undefined => {
    const e = server.exitInfo();
    if (!e || stopping) return undefined;
    const how = e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
    // What a server that failed said last (a stack trace); one killed by a signal said nothing about it.
    const said = e.signal ? '' : server.stderr().trim().split('\n').slice(-3).join(' | ');
    return server.stoppedBecause() ?? `the server exited during the run (${how})${said ? `: ${said}` : ''}`;
  };
  return {
    ready: server.ready,
    host: '127.0.0.1',
    startSampler: () => startServerSampler(server.pid),
    died,
    whenDied: server.exited.then(() => died() ?? new Promise<string>(() => {})),
    stop: (timeoutMs) => {
      stopping = true;
      return server.stop(timeoutMs);
    },
  };
}

/** Runs the spin-loop calibration as its own process on the first server CPU (pinned when a list is given). */
export function calibrateCpuRate(cpus: string | undefined): number {
  const entry = compiled('servers/calibrate.ts');
  const [command, args] =
    cpus !== undefined
      ? ['taskset', ['-c', cpus.split(/[,-]/)[0]!, process.execPath, entry]]
      : [process.execPath, [entry]];
  const r = spawnSync(command as string, args as string[], { encoding: 'utf8' });
  const rate = Number(r.stdout.trim());
  if (r.status !== 0 || !(rate > 0))
    throw new Error(`cpu work calibration failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return rate;
}

/** Servers on this machine, bound to 127.0.0.1 unless the launch says otherwise. */
/** Servers on this machine; CPU splits planned from its topology, the capacities given and any overrides. */
export function localHost(
  tasksetAvailable: boolean,
  capacities: Capacities = ASSUMED_CAPACITIES,
  overrides: SplitOverrides = {},
): ServerHost {
  const topology = readTopology();
  return {
    describe: 'this machine',
    cpuSplit: (mode, need = { parallel: false }) =>
      planSplit(mode, topology, capacities, need, tasksetAvailable, overrides),
    calibrateCpuRate: async (split) => calibrateCpuRate(split.server),
    start: async (launch) => {
      const handle = localHandle(await startServer(launch));
      return launch.host !== undefined && launch.host !== '0.0.0.0' && launch.host !== '::'
        ? { ...handle, host: launch.host }
        : handle;
    },
    close: async () => {},
  };
}
