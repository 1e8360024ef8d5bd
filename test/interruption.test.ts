/**
 * The bench under interruption: Ctrl-C or SIGTERM mid-window, SIGTERM to the npm process that started it, and a load
 * client that dies mid-window. Each must end promptly, leave no process or listening port behind, and keep valid
 * records of what finished.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled, PROJECT_ROOT } from '../servers/paths.js';
import { descendants, portClosed, waitFor } from './helpers/processes.js';

const BENCH = compiled('bench/cli.ts');
const dirs: string[] = [];
const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  out: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startBench(extra: string[], viaNpm = false): Running {
  const out = mkdtempSync(path.join(os.tmpdir(), 'conbench-int-'));
  dirs.push(out);
  const args = ['--model', 'event-loop', '--filter', 'echo', '--runs', '2', '--max-runs', '2', '--warmup', '0.2', '--out', out, ...extra];
  const child = viaNpm
    ? spawn('npm', ['run', '--silent', 'bench', '--', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, npm_config_loglevel: 'silent' } })
    : spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, out, stderr: () => stderr, exited };
}

/** The bench's process tree once the load client is running (the measured window is open soon after). */
async function waitForLoad(root: number): Promise<{ pids: number[]; port: number }> {
  let found: { pids: number[]; port: number } | undefined;
  await waitFor(async () => {
    const pids = await descendants(root);
    for (const pid of pids) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        continue;
      }
      const m = /tcp-cli\.js --target 127\.0\.0\.1:(\d+)/.exec(cmd);
      if (m) found = { pids, port: Number(m[1]) };
    }
    return found !== undefined;
  }, 20_000);
  if (!found) throw new Error('the load client never started');
  return found;
}

function recordsOf(out: string): { status: string; reason?: string }[] {
  const suite = readdirSync(out).find((d) => /^\d{8}-/.test(d))!;
  return readFileSync(path.join(out, suite, 'records.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { status: string; reason?: string });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('bench under interruption', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s mid-window stops within 2 s: no process or port left, the run recorded as interrupted', async (signal) => {
    const bench = startBench(['--duration', '6']);
    const { pids, port } = await waitForLoad(bench.child.pid!);
    await new Promise((r) => setTimeout(r, 1500)); // well inside the measured window
    const t0 = Date.now();
    bench.child.kill(signal);
    const end = await bench.exited;
    expect(end.at - t0).toBeLessThan(2000);
    expect(end.code).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(await waitFor(() => pids.every((p) => !alive(p)), 2000)).toBe(true);
    expect(await portClosed(port)).toBe(true);
    const records = recordsOf(bench.out);
    expect(records.at(-1)!.status).toBe('interrupted');
    expect(bench.stderr()).toMatch(/the suite was interrupted|stopping the current run/);
  });

  it('SIGTERM to the npm process that runs the bench stops everything within 2 s', async () => {
    const npm = startBench(['--duration', '6'], true);
    const { pids, port } = await waitForLoad(npm.child.pid!);
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    npm.child.kill('SIGTERM');
    expect(await waitFor(() => pids.every((p) => !alive(p)), 2000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(await portClosed(port)).toBe(true);
    expect(recordsOf(npm.out).at(-1)!.status).toBe('interrupted');
  });

  it('a load client killed mid-window does not hang the suite: the run is errored and the next one runs', async () => {
    const bench = startBench(['--duration', '1.5']);
    const root = bench.child.pid!;
    const { pids } = await waitForLoad(root);
    await new Promise((r) => setTimeout(r, 900));
    const client = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tcp-cli.js'));
    process.kill(client!, 'SIGKILL');
    const end = await Promise.race([bench.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
    expect(end).not.toBe('hung');
    const records = recordsOf(bench.out);
    expect(records[0]!.status).toBe('errored');
    expect(records[0]!.reason).toMatch(/load client gave no result/);
    expect(records.some((r) => r.status === 'ok')).toBe(true);
  });
});
