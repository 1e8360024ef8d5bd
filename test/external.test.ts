/**
 * Servers brought from outside (`--server NAME=COMMAND`): a row like a built-in model's, verified byte for byte, its
 * whole process tree sampled; and every way such a command goes wrong — it does not start, exits at once, never
 * listens, listens elsewhere, answers wrong bytes, ignores SIGTERM — a clear error naming it, the suite going on with
 * the other models, exit 1 at the end, nothing left running.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled, PROJECT_ROOT } from '../lib/paths.js';
import { readRecords } from '../bench/data/records-file.js';
import { serverFromFlag, serversFromFile } from '../bench/data/external-servers.js';
import { portFromLine, withPort } from '../bench/run/external-server.js';
import { isUsageError } from '../lib/cli-args.js';
import { processRunning } from './helpers/processes.js';

const BENCH = compiled('bench/suite/cli.ts');
const ECHO = path.join(PROJECT_ROOT, 'test', 'fixtures', 'external-echo.mjs');
const node = process.execPath;
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
  '--start-timeout',
  '3',
  '--stop-timeout',
  '1',
];
/** One run a cell: enough to see a server fail, and the others measured beside it. */
const once = [...quick, '--runs', '1', '--max-runs', '1', '--start-timeout', '1.5'];

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; out: string }> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'external-'));
  return new Promise((resolve) => {
    const child = spawn(node, [BENCH, '--out', out, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, out });
    });
  });
}

/** Processes still running whose command line names the fixture (none may be, once the bench ended). */
function fixturesRunning(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('external-echo.mjs') && processRunning(Number(n));
      } catch {
        return false;
      }
    })
    .map(Number);
}

const server = (name: string, rest = '{port}'): string[] => ['--server', `${name}=${node} ${ECHO} ${rest}`];

describe('--server: parsing, without running anything', () => {
  it('NAME=COMMAND; {port} put in; the port a server prints first', () => {
    expect(serverFromFlag('py=python3 srv.py {port}')).toMatchObject({
      name: 'py',
      runtime: 'external',
      command: 'python3 srv.py {port}',
      protocols: ['tcp'],
    });
    expect(withPort('x --port {port} --also {port}', 4242)).toBe('x --port 4242 --also 4242');
    expect(withPort('x 0', 4242)).toBeUndefined();
    expect(portFromLine('listening on 39123')).toBe(39123);
    expect(portFromLine('ready')).toBeUndefined();
    for (const bad of ['no-equals', '=cmd', 'event-loop=python3 x', 'a b=x', 'n=   ']) {
      let thrown: unknown;
      try {
        serverFromFlag(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isUsageError(thrown), bad).toBe(true);
    }
  });

  it('a --servers file (YAML or JSON) names protocols and an HTTP path; a bad one is a usage error', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'servers-'));
    const file = path.join(dir, 'servers.yaml');
    writeFileSync(file, '- name: a\n  command: ./a {port}\n  protocols: [tcp, http]\n  httpPath: /health\n');
    expect(serversFromFile(file)).toMatchObject([{ name: 'a', protocols: ['tcp', 'http'], httpPath: '/health' }]);
    writeFileSync(file, '[{"name": "b", "command": "x", "protocols": ["smtp"]}]');
    expect(() => serversFromFile(file)).toThrow(/names protocol "smtp"/);
  });
});

describe('--server: rows beside the built-in models', () => {
  it('a framed echo server given {port}, and one that prints its port: both measured and verified', async () => {
    const r = await bench([...quick, ...server('given'), ...server('printed', '0')]);
    expect(r.code, r.stderr).toBe(0);
    const records = readRecords(r.out, () => {});
    for (const m of ['given', 'printed', 'event-loop']) {
      const ok = records.filter((x) => x.model === m && x.status === 'ok');
      expect(ok.length, m).toBeGreaterThanOrEqual(2);
      for (const x of ok) if (x.status === 'ok') expect(x.result.errors.mismatches).toBe(0);
    }
    const ext = records.find((x) => x.model === 'given' && x.status === 'ok');
    expect(ext?.status === 'ok' && ext.server.usage?.cpuPercent).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/given/);
    expect(fixturesRunning()).toEqual([]);
  });

  it('a server that serves one connection at a time: its cap learned from the first window, not waited for again', async () => {
    const r = await bench([...quick, '--ready-timeout', '1.5', ...server('iter', '{port} one-at-a-time')]);
    expect(r.code, r.stderr).toBe(0);
    const runs = readRecords(r.out, () => {}).filter((x) => x.model === 'iter' && x.status === 'ok');
    const waits = runs.map((x) => (x.status === 'ok' ? x.result.readiness : undefined));
    expect(waits[0]).toMatchObject({ expected: 50, ready: 1, timedOut: true });
    for (const w of waits.slice(1)) expect(w).toMatchObject({ expected: 1, timedOut: false });
    expect(r.stdout).toMatch(/iter .* serves 1\/50 conn at once/);
    expect(fixturesRunning()).toEqual([]);
  });

  it('a server that answers one byte in 10,000 wrong: mismatches, exit 1 naming it', async () => {
    const r = await bench([...once, ...server('mangler', '{port} mangle 10000')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ mangler answered wrong bytes on echo: \d+ mismatched message/);
    expect(fixturesRunning()).toEqual([]);
  });

  it.each([
    [
      'a command that does not start',
      'nope=/no/such/program {port}',
      /nothing verified for nope on echo: nope exited before ready \(code 127/,
    ],
    [
      'a command that exits at once',
      'quits=true {port}',
      /nothing verified for quits on echo: quits exited before ready \(code 0/,
    ],
    [
      'a server that never listens',
      `deaf=${node} ${ECHO} {port} never-listen`,
      /nothing verified for deaf on echo: deaf did not answer tcp on port \d+ within 1500 ms .*leave \{port\} out/,
    ],
    [
      'a server that listens on another port',
      `elsewhere=${node} ${ECHO} {port} other-port`,
      /nothing verified for elsewhere on echo: elsewhere did not answer tcp on port \d+ within 1500 ms/,
    ],
    [
      'a server that names no port',
      `quiet=echo hello && sleep 30`,
      /nothing verified for quiet on echo: quiet printed "hello" first, which names no port/,
    ],
  ])('%s: a clear error naming it, the other models measured, exit 1', async (_what, spec, message) => {
    const r = await bench([...once, '--server', spec]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    const records = readRecords(r.out, () => {});
    expect(records.filter((x) => x.model === 'event-loop' && x.status === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(fixturesRunning()).toEqual([]);
  });

  it('a server that ignores SIGTERM: measured, then killed with its group; exit 1 naming it', async () => {
    const r = await bench([...once, ...server('stubborn', '{port} ignore-term')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ stubborn did not stop on SIGTERM in 1 run\(s\) of echo: killed with its process group/);
    expect(fixturesRunning()).toEqual([]);
  });
});
