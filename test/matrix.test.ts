import { describe, it, expect } from 'vitest';
import { expandFamily, planCells, workloadExclusion, cellExclusion } from '../bench/data/matrix.js';
import { DEFAULT_PARAMS, FAMILIES, PROFILES, type WorkloadFamily } from '../bench/data/workloads.js';
import { MODELS, type Model } from '../servers/registry.js';

const family = (axes: WorkloadFamily['axes']): WorkloadFamily => ({ name: 'f', description: 'd', predicts: 'p', axes });

describe('workload matrix', () => {
  it('a family without arrays is one workload with the defaults', () => {
    const [w, ...rest] = expandFamily(family({ work: 'cpu:10' }));
    expect(rest).toEqual([]);
    expect(w).toMatchObject({ ...DEFAULT_PARAMS, work: 'cpu:10', name: 'f', family: 'f' });
  });

  it('array axes expand to their cartesian product, named by the swept values', () => {
    const ws = expandFamily(family({ connections: [1, 10], payloadBytes: [64, 1048576] }));
    expect(ws.map((w) => w.name)).toEqual(['f/c1,64B', 'f/c1,1MiB', 'f/c10,64B', 'f/c10,1MiB']);
    expect(ws[3]).toMatchObject({ connections: 10, payloadBytes: 1048576 });
  });

  it('an override replaces a swept axis', () => {
    const ws = expandFamily(family({ connections: [1, 10, 100] }), { connections: 7 });
    expect(ws).toHaveLength(1);
    expect(ws[0]).toMatchObject({ name: 'f', connections: 7 });
  });

  it('connect-per-request always has one frame in flight', () => {
    const [w] = expandFamily(family({ pattern: 'connect-per-request', inFlight: 8 }));
    expect(w!.inFlight).toBe(1);
  });

  it('rules exclude cells that make no sense, with reasons', () => {
    expect(workloadExclusion({ ...DEFAULT_PARAMS, protocol: 'udp', payloadBytes: 70_000 })).toMatch(/UDP/);
    expect(workloadExclusion({ ...DEFAULT_PARAMS, rate: 100, pattern: 'connect-per-request' })).toMatch(/open-loop/);
    expect(workloadExclusion({ ...DEFAULT_PARAMS, connections: 1000, inFlight: 1, payloadBytes: 1048576 })).toMatch(
      /exceeds/,
    );
    expect(workloadExclusion(DEFAULT_PARAMS)).toBeUndefined();
    expect(workloadExclusion({ ...DEFAULT_PARAMS, connections: 1000 }, { openFiles: 1024 })).toMatch(
      /ulimit -n is 1024/,
    );
    expect(workloadExclusion({ ...DEFAULT_PARAMS, connections: 1000 }, { openFiles: 20000 })).toBeUndefined();
    expect(workloadExclusion({ ...DEFAULT_PARAMS, protocol: 'udp', payloadBytes: 4 })).toMatch(/≥ 8 B/);
    expect(
      workloadExclusion({ ...DEFAULT_PARAMS, protocol: 'http', driver: 'wrk', pattern: 'connect-per-request' }),
    ).toMatch(/wrk/);
    const tcpOnly = { ...MODELS[0]!, name: 'tcp-only', protocols: ['tcp'] } as Model;
    expect(cellExclusion(tcpOnly, { ...DEFAULT_PARAMS, protocol: 'http' })).toBe('tcp-only does not serve http');
  });

  it('plans every model for every workload except excluded cells', () => {
    const workloads = expandFamily(family({ payloadBytes: [64, 1048576], connections: 1000 }));
    const plan = planCells(workloads, MODELS);
    expect(plan.workloads.map((w) => w.name)).toEqual(['f/64B']);
    expect(plan.cells).toHaveLength(MODELS.length);
    expect(plan.excluded).toHaveLength(MODELS.length);
  });

  it('the full profile covers every family, the sweeps the issues ask for, and no duplicate names', () => {
    const full = PROFILES.find((p) => p.name === 'full')!;
    const names = full.families.flatMap((f) => expandFamily(FAMILIES.find((x) => x.name === f)!)).map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of [
      'connections/c1',
      'connections/c1000',
      'payload/64B',
      'payload/4KiB',
      'payload/64KiB',
      'payload/1MiB',
      'cpu',
      'blocking',
      'async',
      'connect-per-request',
    ]) {
      expect(names).toContain(n);
    }
  });
});
