/**
 * Faults outside the happy path, each driven for real: a results folder that cannot be made or written, a disk that
 * fills or turns read-only mid-suite, servers that die, hang, flood their output, exit at once, leak or ignore
 * SIGTERM, a signal at any point. Each asserts the message, the exit code, the records kept and that nothing the
 * command started is left running.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelSubject, runCell, type CellContext, type CellSubject } from '../bench/run/run-cell.js';
import { testContext } from './helpers/context.js';
import type { Settings } from '../bench/data/settings.js';
import { expandFamily } from '../bench/data/matrix.js';
import { FAMILIES } from '../bench/data/workloads.js';
import { readRecords, ResultsDir } from '../bench/data/records-file.js';
import { makeDirectory, makeNewDirectory } from '../lib/files.js';
import { findModel } from '../servers/registry.js';
import { compiled, PROJECT_ROOT } from '../lib/paths.js';
import { groupAlive, processRunning, waitFor } from './helpers/processes.js';

const FAKE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'misbehaving-server.mjs');
const BENCH = compiled('bench/suite/cli.ts');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A subject whose server is the misbehaving fixture in `mode`. */
function fake(mode: string, arg?: string): CellSubject {
  const base = modelSubject(findModel('event-loop'));
  return {
    ...base,
    name: `fake-${mode}`,
    start: (_workload, _workers, ctx) =>
      ctx.host.start({
        model: `fake-${mode}`,
        command: { command: process.execPath, args: [FAKE, mode, ...(arg !== undefined ? [arg] : [])] },
        readyTimeoutMs: 1500,
        ...(ctx.memoryCapBytes !== undefined ? { memoryCapBytes: ctx.memoryCapBytes } : {}),
      }),
  };
}

const context = (settings: Partial<Settings> = {}, over: Partial<CellContext> = {}): CellContext =>
  testContext(
    { warmupSec: 0.1, durationSec: 1.5, timeoutMs: 2000, readyTimeoutSec: 5, stopTimeoutSec: 1, ...settings },
    over,
  );

/** Pids whose command line names the fixture in a mode (left running if a test failed to stop them). */
function fakesRunning(mode: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('misbehaving-server.mjs')) && cmd.includes(mode) && processRunning(Number(name)))
        out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

const echo = expandFamily(FAMILIES.find((f) => f.name === 'echo')!)[0]!;

describe('a server that misbehaves is a failed run with its reason, never a measurement', () => {
  it('a server killed mid-run: errored, named, the driver stopped at once', async () => {
    const started = performance.now();
    const r = await runCell(fake('die-after', '300'), echo, 0, context({ durationSec: 4 }));
    expect(r.status).toBe('errored');
    expect((r as { reason: string }).reason).toMatch(/the server exited during the run \(killed by SIGKILL\)/);
    // The window was 4 s: the run ended soon after the death, not at the window's end.
    expect(performance.now() - started).toBeLessThan(4000);
    expect(fakesRunning('die-after')).toEqual([]);
  });

  it('a server that never reports ready: errored after its ready timeout', async () => {
    const r = await runCell(fake('never-ready'), echo, 0, context());
    expect(r.status).toBe('errored');
    expect((r as { reason: string }).reason).toMatch(/did not report ready within 1500 ms/);
    await waitFor(() => fakesRunning('never-ready').length === 0, 3000);
  });

  it('a server that exits 0 at once: errored, with its exit', async () => {
    const r = await runCell(fake('exit-at-once'), echo, 0, context());
    expect(r.status).toBe('errored');
    expect((r as { reason: string }).reason).toMatch(/exited before ready \(code 0/);
  });

  it('a server that floods stdout without a ready line: errored, the bench reading a bounded amount', async () => {
    const r = await runCell(fake('flood-stdout'), echo, 0, context());
    expect(r.status).toBe('errored');
    expect((r as { reason: string }).reason).toMatch(/bytes to stdout without a ready line/);
    await waitFor(() => fakesRunning('flood-stdout').length === 0, 3000);
  });

  it('a server that floods stderr still measures; what the bench keeps of it is bounded', async () => {
    const r = await runCell(fake('flood-stderr'), echo, 0, context({ durationSec: 0.5 }));
    expect(r.status).toBe('ok');
    expect(fakesRunning('flood-stderr')).toEqual([]);
  });

  it('a server that leaks is stopped by the memory guard: errored, named, with its PSS', async () => {
    const r = await runCell(
      fake('leak', '16'),
      echo,
      0,
      context({ durationSec: 8 }, { memoryCapBytes: 200 * 2 ** 20 }),
    );
    expect(r.status).toBe('errored');
    expect((r as { reason: string }).reason).toMatch(
      /the memory guard stopped it: its 1 process\(es\) held \d+ MiB \(PSS\), past the cap of 200 MiB/,
    );
    expect(fakesRunning('leak')).toEqual([]);
  });

  it('a server that ignores SIGTERM is killed, and the run says so', async () => {
    const r = await runCell(fake('ignore-term'), echo, 0, context({ durationSec: 0.3 }));
    expect(r.status).toBe('ok');
    expect((r as { reason?: string }).reason).toMatch(/did not stop on SIGTERM and was killed/);
    expect(fakesRunning('ignore-term')).toEqual([]);
  });
});

describe('results folders', () => {
  it('two suites started in the same second each get a folder of their own', () => {
    const root = tempDir();
    const a = ResultsDir.create(root, '20261207-010101Z');
    const b = ResultsDir.create(root, '20261207-010101Z');
    expect(a.dir).not.toBe(b.dir);
    expect(path.basename(b.dir)).toBe('20261207-010101Z-2');
    a.append({ model: 'a' });
    b.append({ model: 'b' });
    expect(readFileSync(a.recordsFile, 'utf8')).not.toBe(readFileSync(b.recordsFile, 'utf8'));
  });

  it('a folder under /proc, under a file: one error naming the level that failed, at once', () => {
    expect(() => makeDirectory('/proc/conbench-nope/x')).toThrow(
      /cannot make the folder \/proc\/conbench-nope: .*\(ENOENT\)/,
    );
    const file = path.join(tempDir(), 'a-file');
    writeFileSync(file, '');
    expect(() => makeNewDirectory(path.join(file, 'sub'), 'x')).toThrow(
      /a part of the path is a file, not a folder \(ENOTDIR\)/,
    );
  });
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  seconds: number;
  pid: number;
}

/** Runs the bench (optionally under a shell prefix such as `ulimit -f`), bounded; `onStart` sees the child. */
function bench(
  args: string[],
  o: { shell?: string; timeoutMs?: number; onStart?: (pid: number) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<Ended> {
  const started = performance.now();
  const quoted = [process.execPath, BENCH, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = o.shell
    ? spawn('sh', ['-c', `${o.shell}; exec ${quoted}`], { env: { ...process.env, ...o.env } })
    : spawn(process.execPath, [BENCH, ...args], { env: { ...process.env, ...o.env } });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  o.onStart?.(child.pid!);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, stdout, seconds: (performance.now() - started) / 1000, pid: child.pid! });
    }),
  );
}

/** The bench's descendants still running (none may be, once it ended). */
function leftBehind(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A server leads its own group; the bench's other children share the bench's session.
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (fields[0] !== 'Z' && (fields[1] === String(pid) || cmd.includes(`conbench-faults-${pid}`)))
        out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

const quick = [
  '--model',
  'event-loop',
  '--filter',
  'echo',
  '--runs',
  '2',
  '--max-runs',
  '2',
  '--warmup',
  '0.1',
  '--duration',
  '0.3',
  '--keep-every-run',
];

/** Mounts a file system for a test (root only; skipped with the reason elsewhere). */
function mount(args: string[], target: string): boolean {
  return spawnSync('mount', [...args, target]).status === 0;
}
const canMount = (() => {
  const probe = mkdtempSync(path.join(os.tmpdir(), 'mount-probe-'));
  const ok = mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs'], probe);
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();

describe('the bench ends, says why, and keeps what it measured', () => {
  it('--out under /proc: exit 2 within seconds, nothing run', async () => {
    const r = await bench(['--out', '/proc/conbench-nope', ...quick]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /error: cannot make the folder \/proc\/conbench-nope: .*\(ENOENT\); nothing was run \(--out chooses another folder\)/,
    );
    expect(r.seconds).toBeLessThan(10);
  });

  it('a file-size limit reached mid-suite: exit 1 naming the file, the records before it kept and readable', async () => {
    const out = tempDir();
    // ulimit -f counts 1 KiB blocks (512 B in POSIX mode): either way two or three ~9 KB records fit.
    const r = await bench(['--out', out, ...quick, '--runs', '6', '--max-runs', '6'], { shell: 'ulimit -f 24' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: cannot write .*records\.jsonl: the file reached the size limit .*\(EFBIG\); the suite stopped\. \d+ run\(s\) measured before it are in/,
    );
    const suite = readdirSync(out).find((d) => /^\d{8}-\d{6}Z/.test(d))!;
    const records = readRecords(path.join(out, suite), () => {});
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(6);
    expect(leftBehind(r.pid)).toEqual([]);
  });

  it.skipIf(!canMount)('a disk that fills mid-suite: exit 1, records kept (tmpfs; needs root)', async () => {
    const root = tempDir();
    expect(
      mount(['-t', 'tmpfs', '-o', 'size=6m'], root) || mount(['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs'], root),
    ).toBe(true);
    cleanups.push(() => spawnSync('umount', ['-l', root]));
    let filled = false;
    const r = await bench(['--out', root, ...quick, '--runs', '8', '--max-runs', '8'], {
      onStart: () => {
        const fill = setInterval(() => {
          const suite = existsSync(root) ? readdirSync(root).find((d) => /^\d{8}-\d{6}Z/.test(d)) : undefined;
          const records = suite ? path.join(root, suite, 'records.jsonl') : undefined;
          if (!filled && records && existsSync(records)) {
            filled = true;
            clearInterval(fill);
            spawnSync('sh', ['-c', `dd if=/dev/zero of=${root}/filler bs=64k 2>/dev/null; true`]);
          }
        }, 50);
        cleanups.push(() => clearInterval(fill));
      },
    });
    expect(filled).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot write .*: the disk is full: free some space \(ENOSPC\)/);
    rmSync(path.join(root, 'filler'));
    const suite = readdirSync(root).find((d) => /^\d{8}-\d{6}Z/.test(d))!;
    expect(readRecords(path.join(root, suite), () => {}).length).toBeGreaterThan(0);
  });

  it.skipIf(!canMount)(
    'a folder that turns read-only mid-suite: exit 1 (tmpfs remounted read-only; needs root)',
    async () => {
      const root = tempDir();
      expect(mount(['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs'], root)).toBe(true);
      cleanups.push(() => spawnSync('umount', ['-l', root]));
      let frozen = false;
      const r = await bench(['--out', root, ...quick, '--runs', '8', '--max-runs', '8'], {
        onStart: () => {
          const watch = setInterval(() => {
            const suite = readdirSync(root).find((d) => /^\d{8}-\d{6}Z/.test(d));
            if (!frozen && suite && existsSync(path.join(root, suite, 'records.jsonl'))) {
              frozen = true;
              clearInterval(watch);
              spawnSync('mount', ['-o', 'remount,ro', root]);
            }
          }, 50);
          cleanups.push(() => clearInterval(watch));
        },
      });
      expect(frozen).toBe(true);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot write .*: the file system is read-only \(EROFS\)/);
    },
  );

  it('SIGTERM at any moment ends it within seconds with 143, nothing left running', async () => {
    for (const afterMs of [150, 900, 2500]) {
      const out = tempDir();
      let child = 0;
      const r = await bench(['--out', out, ...quick, '--runs', '20', '--max-runs', '20'], {
        onStart: (pid) => {
          child = pid;
          setTimeout(() => process.kill(pid, 'SIGTERM'), afterMs);
        },
      });
      // Before Node has loaded the bench (~0.3 s) the signal's default action ends it: nothing was started yet.
      if (r.code === null) expect([afterMs, r.signal]).toEqual([150, 'SIGTERM']);
      else expect(r.code).toBe(143);
      expect(r.seconds).toBeLessThan(afterMs / 1000 + 15);
      expect(leftBehind(child)).toEqual([]);
      for (const pid of fakesRunning('ok')) process.kill(pid, 'SIGKILL');
    }
  });
});

// Servers left by a failed test would disturb every later one: make sure none is.
afterEach(() => {
  for (const mode of ['die-after', 'never-ready', 'flood-stdout', 'flood-stderr', 'leak', 'ignore-term'])
    for (const pid of fakesRunning(mode)) process.kill(pid, 'SIGKILL');
  void groupAlive;
});
