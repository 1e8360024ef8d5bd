import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { parseWrkOutput, WrkOutputError, wrkAvailable, runWrkLoad } from '../clients/http-wrk.js';
import { runAutocannonLoad } from '../clients/http-autocannon.js';
import { runUdpLoad } from '../clients/udp.js';
import { openEndpoint, type Endpoint } from '../servers/endpoint.js';
import { localHandler } from '../servers/handler.js';
import { compiled } from '../lib/paths.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function endpoint(protocol: 'http' | 'udp'): Promise<Endpoint> {
  const e = await openEndpoint(protocol, { host: '127.0.0.1', port: 0 }, await localHandler({ kind: 'none' }));
  closers.push(() => e.close());
  return e;
}

describe('wrk output parser (recorded wrk 4.1.0 output)', () => {
  it('parses a clean run', () => {
    const r = parseWrkOutput(fixture('wrk-post-echo.txt'));
    expect(r.driver).toBe('wrk');
    expect(r.messages).toBe(10746);
    expect(r.seconds).toBeCloseTo(1.003106, 6);
    expect(r.msgsPerSec).toBeCloseTo(10746 / 1.003106, 3);
    expect(r.latency).toMatchObject({ p50: 618, p90: 5378, p99: 29106, p999: 35435, max: 36507 });
    expect(r.latencyResolution).toBe('us');
    expect(r.errors.mismatches + r.errors.non2xx + r.errors.errors).toBe(0);
  });

  it('counts wrong bodies and non-2xx responses, and does not count them as echoes', () => {
    const r = parseWrkOutput(fixture('wrk-post-faults.txt'));
    expect(r.errors.mismatches).toBe(836);
    expect(r.errors.non2xx).toBe(835);
    expect(r.messages).toBe(8358 - 836 - 835);
  });

  it('names wrk when its output is not what it expects', () => {
    expect(() => parseWrkOutput('Running 1s test @ http://x/\n  oops\n')).toThrow(WrkOutputError);
    expect(() => parseWrkOutput('Running 1s test @ http://x/\n  oops\n')).toThrow(/wrk printed no summary line/);
    expect(() => parseWrkOutput('CONBENCH_WRK {"requests":1}\n')).toThrow(/wrk summary lacks durationUs/);
    expect(() => parseWrkOutput('CONBENCH_WRK {not json\n')).toThrow(/not JSON/);
  });

  it('a missing wrk is reported with a reason, not crashed on', () => {
    const present = wrkAvailable();
    if (present.ok) expect(present.version).toBeTruthy();
    else expect(present.reason).toMatch(/wrk is not installed/);
    const out = spawnSync(
      process.execPath,
      [compiled('clients/http-cli.ts'), '--target', '127.0.0.1:9', '--driver', 'wrk', '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, PATH: '/nonexistent' },
      },
    );
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/wrk is not installed/);
    expect(out.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it.runIf(wrkAvailable().ok)('drives a real HTTP echo server through wrk when installed', async () => {
    const { port } = await endpoint('http');
    const r = await runWrkLoad({
      host: '127.0.0.1',
      port,
      connections: 4,
      inFlight: 1,
      pattern: 'persistent',
      payloadBytes: 64,
      warmupSec: 0,
      durationSec: 1,
      timeoutMs: 2000,
    });
    expect(r.messages).toBeGreaterThan(100);
    expect(r.errors.mismatches).toBe(0);
  });
});

describe('autocannon driver', () => {
  it('verifies echoed POST bodies and reports ms-resolution latency in µs', async () => {
    const { port } = await endpoint('http');
    const r = await runAutocannonLoad({
      host: '127.0.0.1',
      port,
      connections: 4,
      inFlight: 1,
      pattern: 'persistent',
      payloadBytes: 256,
      warmupSec: 0.2,
      durationSec: 0.5,
      timeoutMs: 2000,
    });
    expect(r.messages).toBeGreaterThan(50);
    expect(r.errors.mismatches).toBe(0);
    expect(r.latencyResolution).toBe('ms');
    expect(r.latency.p99 % 1000).toBe(0);
  });

  it('counts bodies that are not the echo as mismatches and non-2xx', async () => {
    let n = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      n++;
      if (n % 2) res.end('not the body');
      else {
        res.statusCode = 503;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const port = (server.address() as { port: number }).port;
    const r = await runAutocannonLoad({
      host: '127.0.0.1',
      port,
      connections: 2,
      inFlight: 1,
      pattern: 'persistent',
      payloadBytes: 64,
      warmupSec: 0,
      durationSec: 0.4,
      timeoutMs: 2000,
    });
    expect(r.errors.mismatches).toBeGreaterThan(0);
    expect(r.errors.non2xx).toBeGreaterThan(0);
    expect(r.messages).toBe(0);
  });
});

describe('UDP client', () => {
  it('verifies every datagram of an echo server', async () => {
    const { port } = await endpoint('udp');
    const r = await runUdpLoad({
      host: '127.0.0.1',
      port,
      pattern: 'persistent',
      connections: 4,
      inFlight: 2,
      payloadBytes: 100,
      warmupSec: 0.1,
      durationSec: 0.5,
      timeoutMs: 500,
    });
    expect(r.messages).toBeGreaterThan(100);
    expect(r.errors).toMatchObject({ mismatches: 0, lost: 0, duplicated: 0 });
    expect(r.latency.count).toBe(r.messages);
  });

  async function rawUdp(onMessage: (s: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<number> {
    const s = dgram.createSocket('udp4');
    s.on('message', (m, r) => onMessage(s, m, r));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => s.close(() => r())));
    return s.address().port;
  }

  it('counts lost, duplicated and reordered datagrams', async () => {
    let n = 0;
    let held: { msg: Buffer; port: number } | undefined;
    const port = await rawUdp((s, msg, rinfo) => {
      n++;
      if (n % 10 === 0) return; // drop
      if (n % 10 === 3) s.send(msg, rinfo.port, rinfo.address); // duplicate
      if (n % 10 === 5) {
        held = { msg, port: rinfo.port }; // hold back, send after the next one (reorder)
        return;
      }
      s.send(msg, rinfo.port, rinfo.address);
      if (held) {
        s.send(held.msg, held.port, rinfo.address);
        held = undefined;
      }
    });
    const r = await runUdpLoad({
      host: '127.0.0.1',
      port,
      pattern: 'persistent',
      connections: 1,
      inFlight: 4,
      payloadBytes: 64,
      warmupSec: 0,
      durationSec: 0.5,
      timeoutMs: 100,
    });
    expect(r.errors.lost).toBeGreaterThan(0);
    expect(r.errors.duplicated).toBeGreaterThan(0);
    expect(r.errors.reordered).toBeGreaterThan(0);
    expect(r.messages).toBeGreaterThan(0);
  });

  it('counts corrupted payloads as mismatches', async () => {
    const port = await rawUdp((s, msg, rinfo) => {
      msg[msg.length - 1]! ^= 1;
      s.send(msg, rinfo.port, rinfo.address);
    });
    const r = await runUdpLoad({
      host: '127.0.0.1',
      port,
      pattern: 'persistent',
      connections: 1,
      inFlight: 1,
      payloadBytes: 64,
      warmupSec: 0,
      durationSec: 0.3,
      timeoutMs: 100,
    });
    expect(r.errors.mismatches).toBeGreaterThan(0);
    expect(r.messages).toBe(0);
  });

  it('rejects payloads too small to carry the sequence number', async () => {
    await expect(
      runUdpLoad({
        host: '127.0.0.1',
        port: 9,
        pattern: 'persistent',
        connections: 1,
        inFlight: 1,
        payloadBytes: 4,
        warmupSec: 0,
        durationSec: 1,
        timeoutMs: 100,
      }),
    ).rejects.toThrow(/UDP payload must be 8/);
  });
});
