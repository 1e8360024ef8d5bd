/**
 * The micro-benchmarks' records and command: the shape of what they write (not how fast anything is), that they stop
 * every thread and process they start (also on SIGTERM), and bad input as one line with exit code 2.
 */
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled } from '../lib/paths.js';
import { measurePrimitive } from '../bench/micro/measure.js';
import { PRIMITIVES } from '../bench/micro/primitives.js';
import { MICRO_CHILD_ENTRY } from '../bench/micro/peer.js';
import { manyProcessesEcho } from '../bench/micro/many-processes.js';
import { ECHO_PROCESSES } from '../bench/data/micro-record.js';
import { microRecordProblem, readMicroRecords, type MicroRecord } from '../bench/data/micro-record.js';
import { microNotes, microTable } from '../bench/micro/format.js';
import { descendants, waitFor } from './helpers/processes.js';
import { ENV } from './helpers/records.js';
import { microRecord } from './helpers/micro.js';

const CLI = compiled('bench/micro/cli.ts');
const STACK = /\n\s+at .+:\d+:\d+/;
const primitive = (id: string) => PRIMITIVES.find((p) => p.id === id)!;
const tiny = { runId: 't', env: ENV, timeMs: 20, warmupMs: 10 };
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('micro records', () => {
  it('accept a well-formed record and name what is wrong with a broken one', () => {
    const good = microRecord('ipc-json', '0', 25, { cpuBySide: { parent: 12, child: 13 } });
    expect(microRecordProblem(good)).toBeUndefined();
    expect(microRecordProblem({ ...good, latency: undefined })).toBe('an ok record needs latency');
    expect(microRecordProblem({ ...good, latency: { ...good.latency!, p50Us: 99 } })).toBe(
      'latency must satisfy min ≤ p50 ≤ p99 ≤ max',
    );
    expect(microRecordProblem({ ...good, cpuUsPerOp: -1 })).toBe('an ok record needs cpuUsPerOp ≥ 0');
    expect(microRecordProblem({ ...good, cpus: '' })).toBe('cpus must be a non-empty string');
    expect(
      microRecordProblem({ ...good, status: 'skipped', latency: undefined, reason: 'needs 2 CPUs' }),
    ).toBeUndefined();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-micro-'));
    const file = path.join(dir, 'records.jsonl');
    writeFileSync(file, `${JSON.stringify(good)}\n{"schema":1}\n`);
    expect(() => readMicroRecords(file)).toThrow(
      /records\.jsonl:2 is not a micro record \(runId must be a non-empty string\)/,
    );
  });

  it('a measured primitive is an ok record with CPU time by side; its child process is gone afterwards', async () => {
    let childPid: number | undefined;
    const record = await measurePrimitive(
      primitive('ipc-json'),
      { cpus: 'all', cpuCount: 2 },
      {
        ...tiny,
        onFixture: (f) => {
          if (f) void descendants(process.pid).then((pids) => (childPid = pids[0]));
        },
      },
    );
    expect(microRecordProblem(record)).toBeUndefined();
    expect(record).toMatchObject({ status: 'ok', id: 'ipc-json', cpus: 'all', runId: 't' });
    expect(record.latency!.samples).toBeGreaterThanOrEqual(64); // tinybench's minimum iterations
    expect(Object.keys(record.cpuBySide!)).toEqual(['parent', 'child']);
    expect(record.cpuUsPerOp).toBeCloseTo(record.cpuBySide!.parent! + record.cpuBySide!.child!);
    expect(childPid).toBeDefined();
    expect(await waitFor(() => !alive(childPid!), 5000)).toBe(true);
  });

  it('the many-process echo serves one connection per fresh process, says how many frames each served, and stops them all', async () => {
    expect(PRIMITIVES.map((p) => p.id)).toContain(`tcp-rtt-${ECHO_PROCESSES}-procs`);
    let children: number[] = [];
    const isMicroChild = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(MICRO_CHILD_ENTRY);
      } catch {
        return false;
      }
    };
    const record = await measurePrimitive(
      manyProcessesEcho(3),
      { cpus: 'all', cpuCount: 2 },
      {
        ...tiny,
        onFixture: (f) => {
          if (f) void descendants(process.pid).then((pids) => (children = pids.filter(isMicroChild)));
        },
      },
    );
    expect(microRecordProblem(record)).toBeUndefined();
    expect(record).toMatchObject({ status: 'ok', id: 'tcp-rtt-3-procs', cpus: 'all' });
    expect(Object.keys(record.cpuBySide!)).toEqual(['client', 'server']);
    expect(record.cpuUsPerOp).toBeCloseTo(record.cpuBySide!.client! + record.cpuBySide!.server!);
    expect(record.details).toMatchObject({ processes: 3, framesPerSample: 3, payloadBytes: 64 });
    // Every sample is one frame per process, and the warm-up's frames count too.
    expect(Number(record.details!.framesPerProcess)).toBeGreaterThan(record.latency!.samples);
    expect(children).toHaveLength(3);
    expect(await waitFor(() => children.every((pid) => !alive(pid)), 5000)).toBe(true);
  });

  it('the many-process echo’s processes leave when the process that started them dies', async () => {
    // A file, not --eval: the children are forked with this process's execArgv.
    const script = path.join(mkdtempSync(path.join(os.tmpdir(), 'conbench-micro-')), 'parent.mjs');
    writeFileSync(
      script,
      `import { manyProcessesEcho } from ${JSON.stringify(compiled('bench/micro/many-processes.ts'))};
      await manyProcessesEcho(3).setup({ cpus: 'all', cpuCount: 2 });
      process.stdout.write('up');
      setInterval(() => undefined, 1000);`,
    );
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      expect(await waitFor(() => out.includes('up'), 20_000)).toBe(true);
      const children = await descendants(parent.pid!);
      expect(children.length).toBeGreaterThanOrEqual(3);
      parent.kill('SIGKILL');
      expect(await waitFor(() => children.every((pid) => !alive(pid)), 10_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('batched and calibrated primitives record what they are about', async () => {
    const frames = await measurePrimitive(primitive('frame-parse'), { cpus: 'all', cpuCount: 2 }, tiny);
    expect(microRecordProblem(frames)).toBeUndefined();
    expect(frames.details).toEqual({ framesPerSample: 1000 });
    const loop = await measurePrimitive(primitive('cpu-loop'), { cpus: 'all', cpuCount: 2 }, tiny);
    expect(microRecordProblem(loop)).toBeUndefined();
    expect(loop.details).toMatchObject({ targetUs: 200 });
    expect(Number(loop.details!.iterationsPerUs)).toBeGreaterThan(0);
    expect(Number(loop.details!.iterationsPerUsAtEnd)).toBeGreaterThan(0);
    const one = await measurePrimitive(primitive('cpu-loop-all-cpus'), { cpus: '0', cpuCount: 1 }, tiny);
    expect(one).toMatchObject({ status: 'skipped', reason: 'needs a CPU set of at least 2 CPUs' });
    expect(microRecordProblem(one)).toBeUndefined();
  });

  it('the table shows every record, and the notes the cpu: loop’s drift against the previous run', () => {
    const loop = (runId: string, rate: number): MicroRecord =>
      microRecord('cpu-loop', '0', 204, {
        runId,
        title: 'cpu:200 loop (calibrated)',
        latency: { meanUs: 204, p50Us: 200, p99Us: 230, minUs: 199, maxUs: 300, rmePercent: 0.2, samples: 900 },
        details: { targetUs: 200, iterationsPerUs: rate, iterationsPerUsAtEnd: rate * 0.99 },
      });
    const now = [
      loop('new', 600),
      microRecord('ipc-json', '0', 25, { title: 'IPC json', cpuBySide: { parent: 12, child: 13 } }),
      {
        ...microRecord('cpu-loop-all-cpus', '0', 1),
        status: 'skipped' as const,
        reason: 'needs 2 CPUs',
        latency: undefined,
      },
    ];
    const table = microTable(now, true);
    expect(table).toMatch(/IPC json[\s│]+0[\s│]+25\.00/);
    expect(table).toContain('parent 12.00 + child 13.00');
    expect(table).toContain('skipped: needs 2 CPUs');
    const notes = microNotes(now, [loop('old', 500)]);
    expect(notes[0]).toBe(
      'cpu:200 loop (calibrated) on CPUs 0: 204 µs of CPU for 200 µs asked (+2.0%), 204 µs wall; calibration 600.0 → 594.0 iterations/µs during the run (−1.0%); vs the previous micro run old: +20.0%',
    );
    expect(notes[1]).toBe('not measured: cpu-loop-all-cpus on 0 (skipped: needs 2 CPUs)');
  });
});

describe('npm run bench:micro', () => {
  it('writes records.jsonl and LATEST, and prints the table', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'conbench-micro-'));
    const r = spawnSync(
      process.execPath,
      [CLI, '--filter', 'frame-parse', '--time', '20', '--cpus', 'all', '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('frame parsing per 64 B frame');
    const latest = readFileSync(path.join(out, 'micro', 'LATEST'), 'utf8').trim();
    const records = readMicroRecords(path.join(out, 'micro'));
    expect(records.map((x) => [x.runId, x.id, x.cpus, x.status])).toEqual([[latest, 'frame-parse', 'all', 'ok']]);
  });

  it('rejects bad input in one line with exit code 2', () => {
    for (const [args, message] of [
      [['--time', '0'], /--time must be an integer from 1/],
      [['--cpus', '7-9'], /--cpus must be a CPU list/],
      [['--filter', 'zzz'], /--filter zzz matches no primitive/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('on SIGTERM stops its child processes, keeps what it measured and exits 143', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'conbench-micro-'));
    const cli = spawn(
      process.execPath,
      [CLI, '--filter', 'ipc-json,frame-parse', '--time', '20000', '--cpus', 'all', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    try {
      expect(await waitFor(() => stderr.includes('ipc-json …'), 15_000)).toBe(true);
      let children: number[] = [];
      expect(await waitFor(async () => (children = await descendants(cli.pid!)).length > 0, 10_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // past the 250 ms warm-up, into the measured phase
      cli.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(await waitFor(() => children.every((pid) => !alive(pid)), 5000)).toBe(true);
      // What was measured is kept (flagged as interrupted), but an interrupted run does not become LATEST.
      expect(stderr).toContain('SIGTERM: stopping after the current operation');
      const [record] = readMicroRecords(path.join(out, 'micro', readdirSync(path.join(out, 'micro'))[0]!));
      expect(record).toMatchObject({ id: 'ipc-json', status: 'ok', details: { interrupted: 'yes' } });
      expect(existsSync(path.join(out, 'micro', 'LATEST'))).toBe(false);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});
