/**
 * `npm run export -- --format artillery`: how each workload maps onto Artillery, the processor that checks every
 * echo, bad usage, and (when Artillery is installed: npm run artillery:install) real Artillery runs of exported
 * scripts against a served model, closed loop and open loop, plus one against a server that does not echo.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { compiled } from '../lib/paths.js';
import { workloadsFromFlags } from '../bench/data/settings.js';
import { artilleryScript } from '../bench/export/artillery-script.js';
import * as processor from '../bench/export/artillery-processor.js';
import { ARTILLERY_ENV, artilleryAvailable, artilleryBinary } from '../bench/export/artillery-tool.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { runCommand } from './helpers/processes.js';

const STACK = /\n\s+at .+:\d+:\d+/;
const exportCli = (args: string[]) =>
  spawnSync(process.execPath, [compiled('scripts/export.ts'), ...args], { encoding: 'utf8', timeout: 30_000 });

interface Env {
  phases: { name: string; duration: number; arrivalCount?: number; arrivalRate?: number }[];
  http?: { pool: number };
  variables: { payloadBytes: number; loopSeconds: number; connection: string };
}

describe('Artillery script from the HTTP workloads', () => {
  const { workloads } = workloadsFromFlags({ protocol: 'http' }, 'full');
  const exported = artilleryScript(workloads, {
    target: 'http://127.0.0.1:9000',
    warmupSec: 1,
    durationSec: 3,
    timeoutMs: 5000,
    processorFile: 'x.processor.mjs',
    origin: 'test',
  });
  const script = parse(exported.yaml) as {
    config: { processor: string; http: { timeout: number }; environments: Record<string, Env> };
    scenarios: { flow: { loop: { post: Record<string, unknown> }[]; whileTrue: string }[] }[];
  };
  const envs = script.config.environments;

  it('has one environment per workload, and says why pipelined is left out', () => {
    expect(Object.keys(envs)).toEqual(workloads.filter((w) => w.inFlight === 1).map((w) => w.name));
    expect(exported.skipped).toEqual([
      {
        workload: 'pipelined',
        reason: expect.stringMatching(/16 requests in flight per connection; Artillery sends one request at a time/),
      },
    ]);
    expect(exported.yaml).toMatch(/^# Not exported: pipelined/m);
  });

  it('closed loop: connections → virtual users arriving in the first second, each looping for warmup + duration', () => {
    expect(envs.echo).toEqual({
      phases: [{ name: '50 virtual user(s) connect', duration: 1, arrivalCount: 50 }],
      variables: { payloadBytes: 64, loopSeconds: 4, connection: 'keep-alive' },
    });
    expect(envs['connections/c1000']!.phases[0]!.arrivalCount).toBe(1000);
    expect(envs['payload/1MiB']!.variables.payloadBytes).toBe(1_048_576);
    expect(envs['connect-per-request']!.variables).toMatchObject({ connection: 'close', loopSeconds: 4 });
  });

  it('open loop: rate → arrival rate, one request per virtual user over a pool of the connections', () => {
    expect(envs['open-loop']).toEqual({
      phases: [
        { name: 'warm up', duration: 1, arrivalRate: 5000 },
        { name: 'measure', duration: 3, arrivalRate: 5000 },
      ],
      http: { pool: 50 },
      variables: { payloadBytes: 64, loopSeconds: 0, connection: 'keep-alive' },
    });
  });

  it('names the server work each workload needs, and hooks that the processor exports', () => {
    expect(exported.yaml).toMatch(/# CPU-bound handler .* · server: --work cpu:200\n\s+cpu:/);
    expect(script.config).toMatchObject({ processor: './x.processor.mjs', http: { timeout: 5 } });
    const step = script.scenarios[0]!.flow[0]!;
    const names = [step.whileTrue, step.loop[0]!.post.beforeRequest, step.loop[0]!.post.afterResponse] as string[];
    for (const name of names) expect(typeof (processor as Record<string, unknown>)[name], name).toBe('function');
  });
});

describe('the processor shipped with the script', () => {
  const counters: Record<string, number> = {};
  const events = {
    emit: (_kind: 'counter', name: string, value: number) => void (counters[name] = (counters[name] ?? 0) + value),
  };

  it('makes bodies of the exact size and fails a virtual user on any echo that differs', () => {
    expect(processor.payloadOf(100)).toHaveLength(100);
    expect(processor.payloadOf(1_048_576)).toHaveLength(1_048_576);
    const request: { body?: string } = {};
    processor.conbenchBody(request, { vars: { payloadBytes: 70 } }, events, () => {});
    expect(request.body).toHaveLength(70);
    const outcomes: (Error | undefined)[] = [];
    processor.conbenchVerify(request, { body: request.body }, { vars: {} }, events, (e) => outcomes.push(e));
    processor.conbenchVerify(request, { body: request.body!.slice(0, 69) + '?' }, { vars: {} }, events, (e) =>
      outcomes.push(e),
    );
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes[1]?.message).toBe('echo mismatch');
    expect(counters).toEqual({ 'conbench.verified': 1, 'conbench.mismatches': 1 });
  });

  it('ends an open-loop virtual user after one request, a closed-loop one when its time is up', () => {
    const decide = (vars: Record<string, unknown>): boolean => {
      let more = false;
      processor.conbenchUntilTimeUp({ vars }, (m) => (more = m));
      return more;
    };
    expect(decide({ loopSeconds: 0 })).toBe(false);
    expect(decide({ loopSeconds: 60 })).toBe(true);
    expect(decide({ loopSeconds: 60, conbenchEnd: Date.now() - 1 })).toBe(false);
  });
});

describe('npm run export: bad usage', () => {
  it.each([
    [[], /--format is required: one of artillery/],
    [['--format', 'k6'], /--format must be one of artillery \(got "k6"\)/],
    [['--format', 'artillery', '--protocol', 'tcp'], /Artillery scripts are exported for the HTTP workloads only/],
    [['--format', 'artillery', '--target', 'ftp://x'], /--target must be an http:\/\/ or https:\/\/ URL/],
    [['--format', 'artillery', '--filter', 'pipelined'], /nothing to export: pipelined 16 requests in flight/],
    [['--format', 'artillery', '--duration', '0'], /--duration must be a positive number/],
  ])('%j', (args, message) => {
    const r = exportCli(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(STACK);
  });
});

const artillery = artilleryAvailable();

describe.skipIf(!artillery.ok)(
  `exported scripts run by Artillery${artillery.ok ? '' : ` (skipped: ${artillery.ok ? '' : artillery.reason})`}`,
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-artillery-'));
    let server: ServerProcess | undefined;
    let notEcho: http.Server | undefined;

    beforeAll(async () => {
      server = await startServer({ model: 'event-loop', protocol: 'http' });
      notEcho = http.createServer((req, res) => req.resume().on('end', () => res.end('not an echo')));
      await new Promise<void>((resolve) => notEcho!.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await server?.stop();
      await new Promise((resolve) => notEcho?.close(resolve));
    });

    /** Exports with `flags`, runs one environment against `port`, returns the report's counters. */
    async function exportAndRun(
      name: string,
      flags: string[],
      environment: string,
      port: number,
    ): Promise<Record<string, number>> {
      const script = path.join(dir, `${name}.yml`);
      const exported = exportCli([
        '--format',
        'artillery',
        '--out',
        script,
        '--duration',
        '2',
        '--warmup',
        '0',
        '--connections',
        '10',
        ...flags,
      ]);
      expect(exported.status, exported.stderr).toBe(0);
      const report = path.join(dir, `${name}.json`);
      const run = await runCommand(
        [artilleryBinary(), 'run', '-e', environment, '--target', `http://127.0.0.1:${port}`, '-o', report, script],
        60_000,
        ARTILLERY_ENV,
      );
      expect(run.code, run.stderr).toBe(0);
      console.log(
        `artillery run -e ${environment} (${flags.join(' ')}):\n${run.stdout.slice(run.stdout.lastIndexOf('Summary report'))}`,
      );
      return (JSON.parse(readFileSync(report, 'utf8')) as { aggregate: { counters: Record<string, number> } }).aggregate
        .counters;
    }

    const noErrors = (counters: Record<string, number>): void => {
      expect(Object.keys(counters).filter((k) => k.startsWith('errors.'))).toEqual([]);
      expect(counters['vusers.failed']).toBe(0);
      expect(counters['http.requests']).toBeGreaterThan(0);
      expect(counters['http.codes.200']).toBe(counters['http.requests']);
      expect(counters['conbench.verified']).toBe(counters['http.requests']);
      expect(counters['conbench.mismatches']).toBeUndefined();
    };

    it('closed loop (echo, 10 virtual users for 2 s): completes with every echo verified', async () => {
      const counters = await exportAndRun('closed', ['--filter', 'echo'], 'echo', server!.ready.port);
      noErrors(counters);
      expect(counters['vusers.completed']).toBe(10);
    });

    it('open loop (200 arrivals/s for 2 s over 10 connections): one verified request per virtual user', async () => {
      const counters = await exportAndRun(
        'open',
        ['--filter', 'open-loop', '--rate', '200'],
        'open-loop',
        server!.ready.port,
      );
      noErrors(counters);
      expect(counters['vusers.completed']).toBe(counters['vusers.created']);
      expect(counters['http.requests']).toBe(counters['vusers.created']);
    });

    it('a server that does not echo fails every virtual user', async () => {
      const counters = await exportAndRun(
        'mismatch',
        ['--filter', 'echo'],
        'echo',
        (notEcho!.address() as AddressInfo).port,
      );
      expect(counters['conbench.mismatches']).toBe(10);
      expect(counters['vusers.failed']).toBe(10);
      expect(counters['errors.echo mismatch']).toBe(10);
    });
  },
);
