/**
 * How a machine's CPUs are split between the server under test and the load driver, chosen from the machine and
 * from measurement rather than fixed. `planSplit` is a pure function of the topology (physical cores, their SMT
 * siblings, NUMA nodes), the measured capacities (what one driver thread can push, what one server worker can serve)
 * and the cell (its pin mode, whether its models run on several CPUs):
 *   - separate: whole physical cores to each side (never a driver thread on an SMT sibling of a server CPU), both
 *     on one NUMA node when it has room (cross-node loopback would measure the interconnect); the driver gets the
 *     fewest cores whose threads keep it below 80 % of its capacity against the fastest model of the cell, and the
 *     server the rest. When even every spare core is not enough, the plan says so (the answer is the serve agent on
 *     a second host) and rows are flagged client-bound as before.
 *   - shared: the server on every CPU (parallel models doing CPU work), the driver on the last core's threads too.
 *   - off, or no taskset: nothing pinned.
 * On the 2-vCPU VM this gives what it always did: server on CPU 0, driver on CPU 1 with one thread.
 */
import os from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { formatCpuList, parseCpuList } from '../../lib/cpu-list.js';
import type { PinMode } from '../data/record.js';

export interface CpuSplit {
  mode: PinMode;
  /** taskset -c lists; undefined = unpinned. */
  server?: string;
  client?: string;
  /** CPUs the server may use: the default worker count. */
  serverCpuCount: number;
  /** Native driver threads (one per client CPU it is given). */
  driverThreads?: number;
  describe: string;
  /** Why this split: the capacities it was sized from and the headroom they leave. */
  why?: string;
}

/** One logical CPU: its physical core and package, its NUMA node. */
export interface LogicalCpu {
  id: number;
  /** Physical core: the same for SMT siblings. */
  core: string;
  node: number;
}

export interface Topology {
  cpus: LogicalCpu[];
}

/** What the split is sized from, msgs/s; `source` says whether measured (and where) or assumed. */
export interface Capacities {
  driverPerThread: number;
  serverPerWorker: number;
  source: string;
}

/** Assumed where no suite of this machine says better (measured on the 2-core VM: ~170k and ~110k on echo). */
export const ASSUMED_CAPACITIES: Capacities = {
  driverPerThread: 150_000,
  serverPerWorker: 110_000,
  source: 'assumed (no earlier suite of this machine)',
};

/** Keep the driver below this share of its capacity: at ≥ 90 % CPU a row is flagged client-bound. */
const DRIVER_HEADROOM = 0.8;

export interface SplitNeed {
  /** The cell's models serve on several CPUs at once (cluster, worker-threads…): the server's capacity grows with its cores. */
  parallel: boolean;
}

export interface SplitOverrides {
  serverCpus?: string;
  driverCpus?: string;
  driverThreads?: number;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** This machine's topology from /sys, limited to the CPUs this process may run on; a flat one where /sys says nothing. */
export function readTopology(): Topology {
  const allowedText = /Cpus_allowed_list:\s*(\S+)/.exec(readText('/proc/self/status') ?? '')?.[1];
  const allowed = allowedText
    ? parseCpuList(allowedText)
    : Array.from({ length: os.availableParallelism() }, (_, i) => i);
  const nodeOf = new Map<number, number>();
  try {
    for (const d of readdirSync('/sys/devices/system/node')) {
      const m = /^node(\d+)$/.exec(d);
      const list = m ? readText(`/sys/devices/system/node/${d}/cpulist`) : undefined;
      if (m && list) for (const c of parseCpuList(list)) nodeOf.set(c, Number(m[1]));
    }
  } catch {
    // no NUMA information: one node
  }
  const cpus = allowed.map((id) => {
    const base = `/sys/devices/system/cpu/cpu${id}/topology`;
    const pkg = readText(`${base}/physical_package_id`) ?? '0';
    const core = readText(`${base}/core_id`) ?? String(id);
    return { id, core: `${pkg}/${core}`, node: nodeOf.get(id) ?? 0 };
  });
  return { cpus };
}

/** Physical cores in CPU order, each with its logical CPUs (SMT siblings), grouped by NUMA node. */
function cores(t: Topology): { core: string; node: number; cpus: number[] }[] {
  const byCore = new Map<string, { core: string; node: number; cpus: number[] }>();
  for (const c of [...t.cpus].sort((a, b) => a.id - b.id)) {
    const entry = byCore.get(c.core) ?? { core: c.core, node: c.node, cpus: [] };
    entry.cpus.push(c.id);
    byCore.set(c.core, entry);
  }
  return [...byCore.values()];
}

const k = (x: number): string => `${Math.round(x / 1000)}k`;

/**
 * The split for a cell. Pure: the same topology, capacities and cell always give the same plan; `taskset` false (or
 * one CPU) gives an unpinned plan that says why.
 */
export function planSplit(
  mode: PinMode,
  topology: Topology,
  capacities: Capacities,
  need: SplitNeed,
  taskset: boolean,
  overrides: SplitOverrides = {},
): CpuSplit {
  const all = topology.cpus.map((c) => c.id);
  if (mode === 'off' || !taskset || all.length < 2) {
    const why = mode === 'off' ? 'pinning off' : !taskset ? 'taskset not available' : 'only one CPU';
    return {
      mode: 'off',
      serverCpuCount: all.length,
      describe: `unpinned (${why}): server and client share ${all.length} CPU(s)`,
    };
  }
  if (overrides.serverCpus !== undefined || overrides.driverCpus !== undefined) {
    const server =
      overrides.serverCpus !== undefined
        ? parseCpuList(overrides.serverCpus)
        : all.filter((c) => !parseCpuList(overrides.driverCpus!).includes(c));
    const client =
      overrides.driverCpus !== undefined ? parseCpuList(overrides.driverCpus) : all.filter((c) => !server.includes(c));
    const threads = overrides.driverThreads ?? client.length;
    return {
      mode,
      server: formatCpuList(server),
      client: formatCpuList(client),
      serverCpuCount: server.length,
      driverThreads: threads,
      describe: `server on CPU ${formatCpuList(server)}, driver on CPU ${formatCpuList(client)} with ${threads} thread(s) (as given)`,
      why: 'the CPUs given by --server-cpus / --driver-cpus',
    };
  }
  const list = cores(topology);
  if (mode === 'shared') {
    const last = list.at(-1)!;
    const threads = overrides.driverThreads ?? last.cpus.length;
    return {
      mode,
      server: formatCpuList(all),
      client: formatCpuList(last.cpus),
      serverCpuCount: all.length,
      driverThreads: threads,
      describe: `server on CPUs ${formatCpuList(all)}, client on CPU ${formatCpuList(last.cpus)} (shared with the server)`,
      why: 'shared: the server may use every CPU (CPU-bound work); the driver takes little beside it',
    };
  }
  // separate: keep both sides on the largest NUMA node when it can hold at least two cores.
  const nodes = [...new Set(list.map((c) => c.node))];
  const largest = nodes.map((n) => list.filter((c) => c.node === n)).sort((a, b) => b.length - a.length)[0]!;
  const pool = largest.length >= 2 ? largest : list;
  const numaNote =
    nodes.length > 1 && pool === largest ? `; both on NUMA node ${largest[0]!.node} of ${nodes.length}` : '';
  let chosen: { server: typeof pool; driver: typeof pool; threads: number } | undefined;
  for (let driverCores = 1; driverCores < pool.length; driverCores++) {
    const server = pool.slice(0, pool.length - driverCores);
    const driver = pool.slice(pool.length - driverCores);
    const serverThreads = server.reduce((n, c) => n + c.cpus.length, 0);
    const demand = (need.parallel ? serverThreads : 1) * capacities.serverPerWorker;
    const threads = Math.min(
      driver.reduce((n, c) => n + c.cpus.length, 0),
      Math.max(1, Math.ceil(demand / (capacities.driverPerThread * DRIVER_HEADROOM))),
    );
    chosen = { server, driver, threads };
    if (threads * capacities.driverPerThread * DRIVER_HEADROOM >= demand) break;
  }
  const { server, driver } = chosen!;
  const threads = overrides.driverThreads ?? chosen!.threads;
  const serverCpus = server.flatMap((c) => c.cpus);
  const driverCpus = driver.flatMap((c) => c.cpus).slice(0, threads);
  const demand = (need.parallel ? serverCpus.length : 1) * capacities.serverPerWorker;
  const supply = threads * capacities.driverPerThread;
  const headroom = supply / demand;
  const short = supply * DRIVER_HEADROOM < demand;
  const why =
    `driver ${k(capacities.driverPerThread)} msgs/s a thread, server ${k(capacities.serverPerWorker)} a worker (${capacities.source}): ` +
    `${threads} driver thread(s) for up to ${k(demand)} msgs/s from ${need.parallel ? `${serverCpus.length} worker(s)` : 'one loop'}, ${headroom.toFixed(1)}× headroom${numaNote}` +
    (short
      ? ` — short even with every spare core: rows may be driver-bound; run the servers on a second host (npm run agent)`
      : '');
  return {
    mode,
    server: formatCpuList(serverCpus),
    client: formatCpuList(driverCpus),
    serverCpuCount: serverCpus.length,
    driverThreads: threads,
    describe: `server on CPU ${formatCpuList(serverCpus)}, client on CPU ${formatCpuList(driverCpus)}${threads > 1 ? ` (${threads} driver threads)` : ''}`,
    why,
  };
}

/** The split with this machine's topology and assumed capacities (serve agents, bench:micro). */
export function cpuSplit(mode: PinMode, tasksetAvailable: boolean, cpuCount?: number): CpuSplit {
  const topology =
    cpuCount !== undefined
      ? { cpus: Array.from({ length: cpuCount }, (_, id) => ({ id, core: String(id), node: 0 })) }
      : readTopology();
  return planSplit(mode, topology, ASSUMED_CAPACITIES, { parallel: false }, tasksetAvailable);
}
