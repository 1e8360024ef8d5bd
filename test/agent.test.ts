/**
 * The serve agent: refuses what it must (no or wrong token, unknown models, bad options, a second bench), serves a
 * bench that has the token exactly like the local host does, and leaves no server behind when the bench
 * disconnects or the agent is stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { compiled } from '../lib/paths.js';
import { connectAgent } from '../bench/host/remote-host.js';
import { tokenMatches } from '../bench/host/agent-protocol.js';
import type { ServerHost } from '../bench/run/server-host.js';
import { startAgentProcess, tokenFile, type AgentProcess } from './helpers/agent.js';
import { concurrentExchange } from './helpers/echo.js';
import { groupAlive, portClosed, waitFor } from './helpers/processes.js';

const STACK = /\n\s+at .+:\d+:\d+/;

/** Sends raw lines and returns the agent's first answer. */
function rawExchange(port: number, lines: string[]): Promise<{ ok: boolean; kind?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.write(lines.map((l) => l + '\n').join('')));
    let text = '';
    const replies: string[] = [];
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      replies.push(...text.split('\n').slice(0, -1));
      text = text.slice(text.lastIndexOf('\n') + 1);
      if (replies.length >= lines.length || replies.some((r) => !JSON.parse(r).ok)) {
        socket.destroy();
        resolve(JSON.parse(replies.find((r) => !JSON.parse(r).ok) ?? replies.at(-1)!));
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref();
  });
}

describe('token check', () => {
  it('compares equal-length digests: same token matches, others do not, whatever their length', () => {
    expect(tokenMatches('a'.repeat(40), 'a'.repeat(40))).toBe(true);
    expect(tokenMatches('a'.repeat(40), 'a'.repeat(39) + 'b')).toBe(false);
    expect(tokenMatches('short', 'a'.repeat(40))).toBe(false);
  });
});

describe('npm run agent: bad usage', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [compiled('scripts/agent.ts'), ...args], { encoding: 'utf8', timeout: 20_000 });
  it.each([
    [['--port', '0', '--token-file', '/tmp/x'], /--host is required/],
    [['--host', '127.0.0.1', '--port', '0'], /--token-file is required: the agent never runs without a token/],
    [
      ['--host', '127.0.0.1', '--port', '0', '--token-file', '/nonexistent/token'],
      /--token-file \/nonexistent\/token: cannot read it \(ENOENT\)/,
    ],
    [
      ['--host', '127.0.0.1', '--port', '0', '--token-file', tokenFile('tooshort').file],
      /holds a token of 8 characters; use at least 16/,
    ],
    [
      ['--host', '127.0.0.1', '--port', '99999', '--token-file', tokenFile().file],
      /--port must be a port from 0 to 65535/,
    ],
    [
      ['--host', '192.0.2.1', '--port', '0', '--token-file', tokenFile().file],
      /cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL/,
    ],
  ])('%j', (args, message) => {
    const r = run(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('serve agent on 127.0.0.1', () => {
  const secret = tokenFile();
  let agent: AgentProcess;
  const hosts: ServerHost[] = [];
  const connectWith = async (token: string | undefined): Promise<ServerHost> => {
    const host = await connectAgent({ host: '127.0.0.1', port: agent.port, ...(token !== undefined ? { token } : {}) });
    hosts.push(host);
    return host;
  };
  const connect = (): Promise<ServerHost> => connectWith(secret.token);

  beforeAll(async () => {
    agent = await startAgentProcess('127.0.0.1', secret.file);
  });
  afterAll(async () => {
    for (const h of hosts) await h.close();
    await agent?.stop();
  });

  it('refuses a bench without the token, with the wrong one, and one that skips hello', async () => {
    await expect(connectWith(undefined)).rejects.toThrow(
      /agent 127\.0\.0\.1:\d+: no token given: this agent answers only requests with its token/,
    );
    await expect(connectWith('0'.repeat(48))).rejects.toThrow(/agent 127\.0\.0\.1:\d+: wrong token$/);
    await expect(connectWith('')).rejects.toThrow(/no token given/);
    const skipped = await rawExchange(agent.port, [
      JSON.stringify({ id: 1, type: 'start', pin: 'off', options: { model: 'event-loop' } }),
    ]);
    expect(skipped).toMatchObject({ ok: false, kind: 'auth', error: 'the first request must be hello with the token' });
    const garbage = await rawExchange(agent.port, ['this is not json']);
    expect(garbage).toMatchObject({ ok: false, kind: 'usage', error: 'bad request: a line that is not JSON' });
    expect(agent.stderr()).toMatch(/refused: wrong token/);
  });

  it("the bench exits 2 with the agent's words when the token is missing or wrong", () => {
    const bench = (extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          compiled('bench/suite/cli.ts'),
          '--agent',
          `127.0.0.1:${agent.port}`,
          '--model',
          'event-loop',
          '--filter',
          'echo',
          '--runs',
          '1',
          ...extra,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
    const none = bench([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^error: agent 127\.0\.0\.1:\d+: no token given/m);
    expect(none.stderr).not.toMatch(STACK);
    const wrong = bench(['--agent-token-file', tokenFile().file]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/^error: agent 127\.0\.0\.1:\d+: wrong token$/m);
  });

  it('the bench names an agent it cannot reach and exits 1', () => {
    const closed = spawnSync(
      process.execPath,
      [compiled('bench/suite/cli.ts'), '--agent', '127.0.0.1:1', '--model', 'event-loop', '--filter', 'echo'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(closed.status).toBe(1);
    expect(closed.stderr).toMatch(/^error: could not reach the agent at 127\.0\.0\.1:1: ECONNREFUSED$/m);
  });

  it("refuses unknown models and bad options with serve's own messages", async () => {
    const host = await connect();
    await expect(host.start({ model: 'nope' })).rejects.toThrow(
      /unknown model "nope"; known models: iterative, event-loop/,
    );
    await expect(host.start({ model: 'event-loop', work: 'sleep:5' })).rejects.toThrow(
      /work must be one of none, cpu:<µs>, block:<ms>, async:<ms> \(got "sleep:5"\)/,
    );
    await expect(host.start({ model: 'event-loop', workers: 0 })).rejects.toThrow(
      /--workers must be an integer from 1 to 256 \(got "0"\)/,
    );
    await expect(host.start({ model: 'native-epoll', protocol: 'http' })).rejects.toThrow(
      /model native-epoll does not serve http/,
    );
    await host.close();
    // Options the bench may not choose (where servers listen is the agent's decision), and malformed requests.
    const hello = JSON.stringify({ id: 1, type: 'hello', token: secret.token });
    const start = (body: object) => rawExchange(agent.port, [hello, JSON.stringify({ id: 2, type: 'start', ...body })]);
    expect(await start({ pin: 'off', options: { model: 'event-loop', host: '0.0.0.0' } })).toMatchObject({
      ok: false,
      kind: 'usage',
      error:
        'option --host is not accepted by the agent (accepted: --model, --protocol, --work, --workers, --max-children, --cpu-rate, --inject-cpu)',
    });
    expect(await start({ pin: 'off', options: { model: 'event-loop', workers: 4 } })).toMatchObject({
      error: 'option --workers must be given as a string (got 4)',
    });
    expect(await start({ pin: 'everywhere', options: { model: 'event-loop' } })).toMatchObject({
      error: 'pin must be one of separate, shared, off (got "everywhere")',
    });
    expect(await rawExchange(agent.port, [hello, JSON.stringify({ id: 2, type: 'reboot' })])).toMatchObject({
      error: 'unknown request type "reboot"',
    });
    expect(await rawExchange(agent.port, [hello, JSON.stringify({ id: 2, type: 'stop', server: 99 })])).toMatchObject({
      error: 'no server 99 was started on this connection',
    });
  });

  it('starts a server, samples it over a window, stops it; one bench at a time', async () => {
    const host = await connect();
    expect(host.agent).toMatchObject({ address: `127.0.0.1:${agent.port}`, node: process.version });
    await expect(connectAgent({ host: '127.0.0.1', port: agent.port, token: secret.token })).rejects.toThrow(
      /busy: a bench from 127\.0\.0\.1:\d+ is connected/,
    );
    const split = host.cpuSplit('separate');
    const server = await host.start({ model: 'event-loop', protocol: 'tcp', pin: 'separate' });
    expect(server.ready).toMatchObject({ model: 'event-loop', protocol: 'tcp', host: '127.0.0.1', workers: 1 });
    expect(server.host).toBe('127.0.0.1');
    expect(server.agent?.address).toBe(`127.0.0.1:${agent.port}`);
    expect(agent.stderr()).toContain(`started event-loop (tcp, work none, 1 worker(s), CPUs ${split.server ?? 'all'})`);
    const sampler = await server.startSampler();
    const exchange = await concurrentExchange(server.ready.port, 4, [64, 4096]);
    expect(exchange).toMatchObject({ mismatches: 0, failures: [] });
    const usage = await sampler.finish();
    expect(usage?.processes).toBe(1);
    expect(usage?.rssPeakBytes).toBeGreaterThan(1_000_000);
    expect(usage?.cpuPercent).toBeGreaterThan(0); // it echoed 4 connections' frames in the window
    const stopped = await server.stop();
    expect(stopped.forced).toBe(false);
    expect(await portClosed(server.ready.port)).toBe(true);
    expect(await host.calibrateCpuRate(split)).toBeGreaterThan(0);
    await host.close();
  });

  it('stops every server a bench left running when its connection ends', async () => {
    const host = await connect();
    const a = await host.start({ model: 'cluster-rr', protocol: 'tcp', workers: 2, pin: 'shared' });
    const b = await host.start({ model: 'event-loop', protocol: 'http', pin: 'separate' });
    expect(groupAlive(a.ready.pid) && groupAlive(b.ready.pid)).toBe(true);
    await host.close();
    expect(await waitFor(() => !groupAlive(a.ready.pid) && !groupAlive(b.ready.pid), 10_000)).toBe(true);
    expect(await portClosed(a.ready.port)).toBe(true);
    expect(agent.stderr()).toMatch(/stopped 2 server\(s\) it left running/);
  });
});

describe('stopping the agent', () => {
  it('stops the servers it started, on SIGTERM', async () => {
    const secret = tokenFile();
    const agent = await startAgentProcess('127.0.0.1', secret.file);
    try {
      const host = await connectAgent({ host: '127.0.0.1', port: agent.port, token: secret.token });
      const server = await host.start({ model: 'fork-pool', protocol: 'tcp', workers: 2, pin: 'off' });
      expect(groupAlive(server.ready.pid)).toBe(true);
      await agent.stop();
      expect(agent.child.exitCode).toBe(0);
      expect(await waitFor(() => !groupAlive(server.ready.pid), 10_000)).toBe(true);
      expect(agent.stderr()).toMatch(/stopping \(SIGTERM\)[\s\S]*stopped 1 server\(s\) it left running/);
      // The bench side sees the connection end, and stopping then is harmless.
      await expect(server.stop()).resolves.toMatchObject({ forced: false });
      await host.close();
    } finally {
      await agent.stop();
    }
  });

  it('stops itself and its servers when its parent dies', async () => {
    const secret = tokenFile();
    // sh starts the agent in the background and waits: killing sh -9 orphans the agent.
    const agent = await startAgentProcess('127.0.0.1', secret.file, ['sh', '-c', '"$0" "$@" & wait']);
    try {
      const host = await connectAgent({ host: '127.0.0.1', port: agent.port, token: secret.token });
      const server = await host.start({ model: 'event-loop', protocol: 'tcp', pin: 'off' });
      agent.child.kill('SIGKILL');
      expect(await waitFor(() => !groupAlive(server.ready.pid), 10_000)).toBe(true);
      expect(await waitFor(() => portClosed(agent.port), 10_000)).toBe(true);
      await host.close();
    } finally {
      await agent.stop();
    }
  });
});
