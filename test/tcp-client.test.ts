import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { runTcpLoad, type TcpLoadOptions } from '../clients/tcp.js';
import { openEndpoint, type Endpoint } from '../servers/endpoint.js';
import { localHandler } from '../servers/handler.js';
import { decodeHistogram } from '../clients/histogram.js';
import { rawServer as startRawServer } from './helpers/echo.js';

const servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function echoServer(): Promise<Endpoint> {
  const endpoint = await openEndpoint('tcp', { host: '127.0.0.1', port: 0 }, localHandler({ kind: 'none' }));
  servers.push(endpoint);
  return endpoint;
}

/** A raw server with custom behaviour per connection, closed after the test. */
async function rawServer(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = await startRawServer(onSocket);
  servers.push(server);
  return server.port;
}

const base = (port: number, o: Partial<TcpLoadOptions> = {}): TcpLoadOptions => ({
  host: '127.0.0.1',
  port,
  connections: 4,
  inFlight: 2,
  payloadBytes: 64,
  warmupSec: 0.1,
  durationSec: 0.4,
  pattern: 'persistent',
  timeoutMs: 2000,
  ...o,
});

describe('TCP load client', () => {
  it('counts verified echoes, bytes and one latency sample per echo', async () => {
    const { port } = await echoServer();
    const r = await runTcpLoad(base(port));
    expect(r.messages).toBeGreaterThan(100);
    expect(r.errors.mismatches).toBe(0);
    expect(r.errors.timeouts).toBe(0);
    expect(r.bytes).toBe(r.messages * 68);
    expect(r.latency.count).toBe(r.messages);
    expect(decodeHistogram(r.histogram!).totalCount).toBe(r.messages);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99);
    expect(r.client.cpuPercent).toBeGreaterThan(0);
  });

  it('streams and verifies 1 MiB frames', async () => {
    const { port } = await echoServer();
    const r = await runTcpLoad(base(port, { connections: 2, inFlight: 1, payloadBytes: 1024 * 1024 }));
    expect(r.messages).toBeGreaterThan(0);
    expect(r.errors.mismatches).toBe(0);
  });

  it('detects corrupted echoes as mismatches', async () => {
    // Echoes everything but flips the last byte of every chunk.
    const port = await rawServer((s) =>
      s.on('data', (d: Buffer) => {
        const copy = Buffer.from(d);
        copy[copy.length - 1] ^= 0xff;
        s.write(copy);
      }),
    );
    const r = await runTcpLoad(base(port, { connections: 1, inFlight: 1, payloadBytes: 200 }));
    expect(r.errors.mismatches).toBeGreaterThan(0);
    expect(r.messages).toBe(0);
  });

  it('detects echoes of another frame (reordered or misrouted) as mismatches', async () => {
    // Swaps each pair of frames: every frame arrives, but in the wrong order.
    const port = await rawServer((s) => {
      let pending = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 2 * 68) {
          s.write(Buffer.concat([pending.subarray(68, 136), pending.subarray(0, 68)]));
          pending = pending.subarray(136);
        }
      });
    });
    const r = await runTcpLoad(base(port, { connections: 1, inFlight: 2 }));
    expect(r.errors.mismatches).toBeGreaterThan(0);
  });

  it('counts unanswered frames as timeouts', async () => {
    const port = await rawServer(() => undefined);
    const r = await runTcpLoad(base(port, { connections: 3, inFlight: 2, timeoutMs: 100, warmupSec: 0, durationSec: 0.5 }));
    expect(r.messages).toBe(0);
    expect(r.errors.timeouts).toBe(6);
  });

  it('counts connections the server resets', async () => {
    const port = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
    const r = await runTcpLoad(base(port, { connections: 2, warmupSec: 0, durationSec: 0.5 }));
    expect(r.errors.resets + r.errors.errors).toBeGreaterThan(0);
  });

  it('connect-per-request opens one connection per echo', async () => {
    let accepted = 0;
    const endpoint = await echoServer();
    const port = await rawServer((s) => {
      accepted++;
      const upstream = net.connect(endpoint.port, '127.0.0.1');
      s.pipe(upstream).pipe(s);
      upstream.on('error', () => s.destroy());
    });
    const r = await runTcpLoad(base(port, { pattern: 'connect-per-request', connections: 2, warmupSec: 0, durationSec: 0.4 }));
    expect(r.messages).toBeGreaterThan(10);
    expect(r.errors.mismatches).toBe(0);
    expect(accepted).toBeGreaterThanOrEqual(r.messages);
  });

  it('open loop holds the requested rate and reports corrected and uncorrected latency', async () => {
    const { port } = await echoServer();
    const r = await runTcpLoad(base(port, { rate: 2000, connections: 4, warmupSec: 0.2, durationSec: 1 }));
    expect(r.msgsPerSec).toBeGreaterThan(1800);
    expect(r.msgsPerSec).toBeLessThan(2200);
    expect(r.latencyUncorrected).toBeDefined();
    expect(r.latency.p50).toBeGreaterThanOrEqual(r.latencyUncorrected!.p50);
    expect(r.openLoop).toEqual({ targetRate: 2000, backlogged: 0 });
  });

  it('rejects invalid options', async () => {
    await expect(runTcpLoad(base(1, { connections: 0 }))).rejects.toThrow(/connections must be a positive integer/);
    await expect(runTcpLoad(base(1, { rate: 10, pattern: 'connect-per-request' }))).rejects.toThrow(/open-loop/);
  });
});
