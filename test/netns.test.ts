/**
 * Server host and load host apart: two network namespaces joined by a veth pair (with 1 ms of netem delay when the
 * kernel has netem), the serve agent in one, `npm run bench -- --agent` in the other, a small suite, and every
 * record ok and verified. Needs root and iproute2; skipped with the reason otherwise. Everything created here is
 * removed afterwards, also on failure, and namespaces left by a test run that was killed are swept first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled } from '../lib/paths.js';
import { hasCommand } from '../bench/run/env.js';
import { totalErrors } from '../clients/load-result.js';
import type { RunRecord } from '../bench/data/record.js';
import { startAgentProcess, tokenFile, type AgentProcess } from './helpers/agent.js';
import { runCommand } from './helpers/processes.js';

const NS_PREFIX = 'conbench-test-';
const SERVER_ADDRESS = '10.231.0.1';
const CLIENT_ADDRESS = '10.231.0.2';

function ip(args: string[]): { ok: boolean; output: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, output: `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() };
}

/** Why namespaces cannot be made here, or undefined when they can. */
function namespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (!hasCommand('ip')) return 'ip (iproute2) is not installed';
  const probe = `${NS_PREFIX}${process.pid}-probe`;
  const made = ip(['netns', 'add', probe]);
  if (!made.ok) return `cannot create a network namespace (root needed): ${made.output}`;
  const veth = ip(['-n', probe, 'link', 'add', 'cbprobe0', 'type', 'veth', 'peer', 'name', 'cbprobe1']);
  ip(['netns', 'del', probe]);
  return veth.ok ? undefined : `cannot create a veth pair: ${veth.output}`;
}

/** Namespaces of earlier test runs whose process is gone (killed before its afterAll ran). */
function sweepStaleNamespaces(): void {
  for (const line of ip(['netns', 'list']).output.split('\n')) {
    const m = new RegExp(`^(${NS_PREFIX}(\\d+)-\\S+)`).exec(line);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) ip(['netns', 'del', m[1]!]);
  }
}

const unavailable = namespacesUnavailable();

describe.skipIf(unavailable !== undefined)(
  `agent and bench in two network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
    const serverNs = `${NS_PREFIX}${tag}-srv`;
    const clientNs = `${NS_PREFIX}${tag}-cli`;
    const serverIf = `cb${tag.slice(-6)}s`;
    const clientIf = `cb${tag.slice(-6)}c`;
    const secret = tokenFile();
    let agent: AgentProcess | undefined;
    let netem = 'not tried';

    beforeAll(() => {
      sweepStaleNamespaces();
      const steps: string[][] = [
        ['netns', 'add', serverNs],
        ['netns', 'add', clientNs],
        ['link', 'add', serverIf, 'netns', serverNs, 'type', 'veth', 'peer', 'name', clientIf, 'netns', clientNs],
        ['-n', serverNs, 'addr', 'add', `${SERVER_ADDRESS}/30`, 'dev', serverIf],
        ['-n', clientNs, 'addr', 'add', `${CLIENT_ADDRESS}/30`, 'dev', clientIf],
        ['-n', serverNs, 'link', 'set', 'lo', 'up'],
        ['-n', clientNs, 'link', 'set', 'lo', 'up'],
        ['-n', serverNs, 'link', 'set', serverIf, 'up'],
        ['-n', clientNs, 'link', 'set', clientIf, 'up'],
      ];
      for (const step of steps) {
        const r = ip(step);
        if (!r.ok) throw new Error(`ip ${step.join(' ')}: ${r.output}`);
      }
      // Optional: 1 ms each way on the wire. Kernels without sch_netem refuse it, and the test runs without.
      const delays = [serverNs, clientNs].map((ns) =>
        spawnSync(
          'ip',
          [
            'netns',
            'exec',
            ns,
            'tc',
            'qdisc',
            'add',
            'dev',
            ns === serverNs ? serverIf : clientIf,
            'root',
            'netem',
            'delay',
            '1ms',
          ],
          { encoding: 'utf8' },
        ),
      );
      const failed = delays.find((d) => d.status !== 0);
      netem = failed
        ? `not applied (${(failed.stderr || failed.error?.message || 'tc failed').trim()})`
        : 'delay 1ms on both veth ends';
    });

    afterAll(async () => {
      await agent?.stop();
      for (const ns of [serverNs, clientNs]) ip(['netns', 'del', ns]); // takes the veth pair with it
      const left = ip(['netns', 'list']).output;
      expect(left).not.toContain(serverNs);
      expect(left).not.toContain(clientNs);
    });

    it('runs a small suite with the servers behind the veth pair: every record ok and verified', async () => {
      agent = await startAgentProcess(SERVER_ADDRESS, secret.file, ['ip', 'netns', 'exec', serverNs]);
      const out = mkdtempSync(path.join(os.tmpdir(), 'conbench-netns-'));
      const bench = await runCommand(
        [
          'ip',
          'netns',
          'exec',
          clientNs,
          process.execPath,
          compiled('bench/suite/cli.ts'),
          '--agent',
          `${SERVER_ADDRESS}:${agent.port}`,
          '--agent-token-file',
          secret.file,
          '--model',
          'event-loop,cluster-rr',
          '--filter',
          'echo',
          '--runs',
          '2',
          '--max-runs',
          '2',
          '--keep-every-run',
          '--duration',
          '1',
          '--warmup',
          '0.3',
          '--out',
          out,
        ],
        90_000,
      );
      console.log(`netem: ${netem}\n${bench.stdout}`);
      expect(bench.stderr).toMatch(
        new RegExp(`CPU split \\(separate[^)]*\\): server on agent ${SERVER_ADDRESS.replace(/\./g, '\\.')}:\\d+`),
      );
      expect(bench.code, bench.stderr).toBe(0);
      expect(bench.stdout).toMatch(/tcp\/echo: tcp · 50 conn/);
      const suite = path.join(out, readFileSync(path.join(out, 'LATEST'), 'utf8').trim());
      const records = readFileSync(path.join(suite, 'records.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunRecord);
      expect(records.map((r) => `${r.model}#${r.run}`).sort()).toEqual([
        'cluster-rr#0',
        'cluster-rr#1',
        'event-loop#0',
        'event-loop#1',
      ]);
      for (const r of records) {
        expect(r.status, r.reason).toBe('ok');
        if (r.status !== 'ok') continue;
        expect(r.result.messages).toBeGreaterThan(0);
        expect(r.result.errors.mismatches).toBe(0);
        expect(totalErrors(r.result.errors)).toBe(0);
        expect(r.server.agent).toMatchObject({ address: `${SERVER_ADDRESS}:${agent.port}`, sameMachine: true });
        expect(r.server.usage?.processes).toBeGreaterThan(0);
        expect(r.clientCpus).toBeUndefined();
      }
      // The bench's connection ended, and with it every server it started (the agent says so a moment later).
      for (let waited = 0; waited < 5000 && !/disconnected/.test(agent.stderr()); waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(agent.stderr()).toMatch(/bench 10\.231\.0\.2:\d+ disconnected/);
      expect(agent.stderr().match(/started (event-loop|cluster-rr) \(tcp/g)).toHaveLength(4);
    }, 120_000);
  },
);
