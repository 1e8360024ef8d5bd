/**
 * The CPU split policy, table-driven over recorded topologies: what it gives each side, with how many driver
 * threads, and that the driver keeps its headroom (or the plan says it cannot). Pure: no CPU is pinned here.
 */
import { describe, expect, it } from 'vitest';
import { planSplit, type Capacities, type Topology } from '../bench/run/pinning.js';
import { formatCpuList, parseCpuList } from '../lib/cpu-list.js';
import { capacitiesFrom } from '../bench/run/capacities.js';
import { fakeRecord } from './helpers/records.js';

/** `cores` physical cores of `smt` threads each on `sockets` NUMA nodes, numbered as Linux does (siblings n and n + cores). */
function topology(cores: number, smt = 1, sockets = 1): Topology {
  const cpus = [];
  for (let t = 0; t < smt; t++) {
    for (let c = 0; c < cores; c++) {
      const node = Math.floor((c * sockets) / cores);
      cpus.push({ id: t * cores + c, core: `${node}/${c}`, node });
    }
  }
  return { cpus };
}

const measured: Capacities = { driverPerThread: 170_000, serverPerWorker: 110_000, source: 'test' };

describe('CPU split policy', () => {
  it.each([
    // name, topology, parallel models?, server CPUs, driver CPUs, driver threads
    ['2 vCPUs (this VM), one loop', topology(2), false, '0', '1', 1],
    ['2 vCPUs, parallel models', topology(2), true, '0', '1', 1],
    ['4 cores, parallel models', topology(4), true, '0-1', '2-3', 2],
    ['8 threads = 4 cores × SMT 2, parallel', topology(4, 2), true, '0-1,4-5', '2-3,6-7', 4],
    // 8 server workers need 7 driver threads at 170k each and 80 % headroom; the 16th CPU is left idle.
    ['16 cores, parallel', topology(16), true, '0-7', '8-14', 7],
    ['16 cores, one loop', topology(16), false, '0-14', '15', 1],
    ['64 cores on 2 sockets, parallel', topology(64, 1, 2), true, '0-16', '17-30', 14],
  ] as const)('%s', (_name, t, parallel, server, driver, threads) => {
    const s = planSplit('separate', t, measured, { parallel }, true);
    expect([s.server, s.client, s.driverThreads]).toEqual([server, driver, threads]);
    // Never a driver thread on an SMT sibling of a server CPU.
    const serverCores = new Set(parseCpuList(s.server!).map((id) => t.cpus.find((c) => c.id === id)!.core));
    for (const id of parseCpuList(s.client!))
      expect(serverCores.has(t.cpus.find((c) => c.id === id)!.core)).toBe(false);
    expect(s.why).toMatch(/headroom/);
  });

  it('a machine where the driver can never keep up says so, and names the way out', () => {
    const s = planSplit(
      'separate',
      topology(8),
      { driverPerThread: 20_000, serverPerWorker: 200_000, source: 'test' },
      { parallel: true },
      true,
    );
    expect(s.why).toMatch(/short even with every spare core.*second host \(npm run agent\)/);
    expect(parseCpuList(s.server!).length).toBe(1);
  });

  it('the 64-core plan keeps both sides on one NUMA node', () => {
    const s = planSplit('separate', topology(64, 1, 2), measured, { parallel: true }, true);
    expect(Math.max(...parseCpuList(s.client!))).toBeLessThan(32);
    expect(s.why).toMatch(/NUMA node 0 of 2/);
  });

  it('shared, off, no taskset and the overrides', () => {
    expect(planSplit('shared', topology(4, 2), measured, { parallel: true }, true)).toMatchObject({
      server: '0-7',
      client: '3,7',
      serverCpuCount: 8,
    });
    expect(planSplit('off', topology(4), measured, { parallel: true }, true)).toMatchObject({
      mode: 'off',
      serverCpuCount: 4,
    });
    expect(planSplit('separate', topology(4), measured, { parallel: true }, false).describe).toMatch(
      /taskset not available/,
    );
    expect(
      planSplit('separate', topology(8), measured, { parallel: true }, true, { serverCpus: '0-3', driverThreads: 2 }),
    ).toMatchObject({ server: '0-3', client: '4-7', driverThreads: 2, serverCpuCount: 4 });
  });

  it('CPU lists parse and print the taskset way', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(formatCpuList([3, 0, 1, 2, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(() => parseCpuList('a-b')).toThrow(/not a CPU list/);
  });
});

describe('capacities from an earlier suite of this machine', () => {
  it("a driver thread: its msgs/s over its busiest thread's CPU share; a worker: the fastest model's msgs/s over its CPU share", () => {
    const records = [
      ...[0, 1].map((run) => {
        const r = fakeRecord({ model: 'event-loop', msgsPerSec: 100_000, run, serverCpuPercent: 95 });
        return r.status === 'ok'
          ? {
              ...r,
              result: {
                ...r.result,
                driver: 'native' as const,
                client: { ...r.result.client, threads: 1, busiestThreadCpuPercent: 80 },
              },
            }
          : r;
      }),
    ];
    const c = capacitiesFrom(records, { hostname: 'h', cpuModel: 'test cpu' }, 'suite');
    expect(c.driverPerThread).toBeCloseTo(125_000, -2);
    expect(c.serverPerWorker).toBeCloseTo(100_000 / 0.95, -2);
    expect(c.source).toMatch(/measured in suite/);
    expect(capacitiesFrom(records, { hostname: 'elsewhere', cpuModel: 'test cpu' }, 'suite').source).toMatch(/assumed/);
  });
});
