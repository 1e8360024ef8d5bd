import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { runTcpLoad, type TcpLoadOptions } from '../clients/tcp.js';
import { nativeDriverStatus, runNativeTcpLoad } from '../clients/native-tcp.js';
import type { LoadResult } from '../clients/load-result.js';
import { openEndpoint, type Endpoint } from '../servers/endpoint.js';
import { localHandler } from '../servers/handler.js';
import { decodeHistogram } from '../clients/histogram.js';
import { rawServer as startRawServer } from './helpers/echo.js';

const servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function echoServer(): Promise<Endpoint> {
  const endpoint = await openEndpoint('tcp', { host: '127.0.0.1', port: 0 }, await localHandler({ kind: 'none' }));
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

const native = nativeDriverStatus();
const DRIVERS: { name: string; run(o: TcpLoadOptions): Promise<LoadResult> }[] = [
  { name: 'node', run: runTcpLoad },
  ...(native.ok ? [{ name: 'native', run: runNativeTcpLoad }] : []),
];

/** Echoes whole frames (64 B payload) but lets `fault` decide, per frame index, what happens to each. */
async function faultyServer(
  fault: (index: number, frame: Buffer, s: net.Socket) => Buffer | 'drop' | 'stall',
): Promise<number> {
  return rawServer((s) => {
    let pending = Buffer.alloc(0);
    let index = 0;
    let stalled = false;
    s.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (!stalled && pending.length >= 68) {
        const frame = pending.subarray(0, 68);
        pending = pending.subarray(68);
        const out = fault(index++, Buffer.from(frame), s);
        if (out === 'stall') stalled = true;
        else if (out !== 'drop') s.write(out);
      }
    });
  });
}

// Both drivers face the same well-behaved and broken peers and must count alike: a corrupted, reordered, dropped or
// stalled echo is never a clean one.
describe.each(DRIVERS)('TCP load driver $name', ({ name, run: runTcpLoad }) => {
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
        copy[copy.length - 1]! ^= 0xff;
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
    const r = await runTcpLoad(
      base(port, { connections: 3, inFlight: 2, timeoutMs: 100, warmupSec: 0, durationSec: 0.5 }),
    );
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
    const r = await runTcpLoad(
      base(port, { pattern: 'connect-per-request', connections: 2, warmupSec: 0, durationSec: 0.4 }),
    );
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

  it('a dropped frame with one in flight is a timeout, never a clean echo', async () => {
    const port = await faultyServer((i, frame) => (i === 3 ? 'drop' : frame));
    const r = await runTcpLoad(
      base(port, { connections: 1, inFlight: 1, timeoutMs: 150, warmupSec: 0, durationSec: 0.6 }),
    );
    expect(r.errors.timeouts).toBe(1);
    expect(r.messages).toBeLessThanOrEqual(3);
    expect(r.errors.mismatches).toBe(0);
  });

  it('a dropped frame with two in flight makes every later echo a mismatch (each arrives where an earlier was due)', async () => {
    const port = await faultyServer((i, frame) => (i === 3 ? 'drop' : frame));
    const r = await runTcpLoad(
      base(port, { connections: 1, inFlight: 2, timeoutMs: 150, warmupSec: 0, durationSec: 0.4 }),
    );
    expect(r.errors.mismatches).toBeGreaterThan(10);
    expect(r.messages).toBeLessThanOrEqual(3);
  });

  it('a peer that stalls mid-run leaves its frame as a timeout', async () => {
    let stallAt = 0;
    const port = await faultyServer((_i, frame) => {
      stallAt ||= Date.now() + 200; // answers for 200 ms after the first frame, then never again
      return Date.now() > stallAt ? 'stall' : frame;
    });
    const r = await runTcpLoad(
      base(port, { connections: 1, inFlight: 1, timeoutMs: 100, warmupSec: 0, durationSec: 0.6 }),
    );
    expect(r.messages).toBeGreaterThan(0);
    expect(r.errors.timeouts).toBe(1);
    expect(r.errors.mismatches).toBe(0);
  });

  it('a single corrupted byte in one frame is one mismatch; the frames around it still count', async () => {
    let corruptAt = 0;
    let corrupted = false;
    const port = await faultyServer((_i, frame) => {
      corruptAt ||= Date.now() + 100; // one frame, well inside the window
      if (!corrupted && Date.now() > corruptAt) {
        corrupted = true;
        frame[40] = frame[40]! ^ 0x01;
      }
      return frame;
    });
    const r = await runTcpLoad(base(port, { connections: 1, inFlight: 1, warmupSec: 0, durationSec: 0.3 }));
    expect(r.errors.mismatches).toBe(1);
    expect(r.messages).toBeGreaterThan(10);
  });

  it('bytes nobody asked for are a mismatch', async () => {
    // On the very first answer: a run that verifies anything at all meets it, however slow the machine (a busy one
    // got through fewer than three frames in 0.3 s).
    const port = await faultyServer((i, frame) => (i === 0 ? Buffer.concat([frame, Buffer.from('surprise')]) : frame));
    const r = await runTcpLoad(base(port, { connections: 1, inFlight: 1, warmupSec: 0, durationSec: 0.5 }));
    expect(r.errors.mismatches).toBeGreaterThan(0);
  });

  it('opens the window only once the connections it waits for have had an answer, and says how long it waited', async () => {
    // The first two connections are answered at once, the others only after 600 ms (a server still starting).
    const t0 = Date.now();
    let accepted = 0;
    const port = await rawServer((s) => {
      const late = accepted++ >= 2;
      s.on('data', (d: Buffer) => {
        const wait = late ? Math.max(0, 600 - (Date.now() - t0)) : 0;
        setTimeout(() => s.writable && s.write(d), wait);
      });
    });
    const r = await runTcpLoad(
      base(port, {
        connections: 4,
        inFlight: 1,
        warmupSec: 0,
        durationSec: 0.3,
        readyConnections: 4,
        readyTimeoutSec: 5,
      }),
    );
    expect(r.readiness).toBeDefined();
    expect(r.readiness!.ready).toBe(4);
    expect(r.readiness!.timedOut).toBe(false);
    expect(r.readiness!.waitedSec).toBeGreaterThan(0.4);
    expect(r.connections).toEqual({ total: 4, served: 4 });
  });

  it('holds the closed loop until the connections it waits for have had an answer, then runs the warmup at full load', async () => {
    // Connections 0-1 are answered at once, 2-3 only after 400 ms (a loaded server still accepting). Until then the
    // early ones must keep only their first frames in flight: the load starts once every connection is being served.
    const t0 = Date.now();
    let accepted = 0;
    const framesBeforeLate: number[] = [];
    const port = await rawServer((s) => {
      const id = accepted++;
      const late = id >= 2;
      framesBeforeLate[id] = 0;
      s.on('data', (d: Buffer) => {
        const wait = late ? Math.max(0, 400 - (Date.now() - t0)) : 0;
        if (Date.now() - t0 < 350) framesBeforeLate[id]! += d.length / 68;
        setTimeout(() => s.writable && s.write(d), wait);
      });
    });
    const r = await runTcpLoad(
      base(port, {
        connections: 4,
        inFlight: 2,
        warmupSec: 0.1,
        durationSec: 0.3,
        readyConnections: 4,
        readyTimeoutSec: 5,
      }),
    );
    expect(r.readiness!.ready).toBe(4);
    expect(framesBeforeLate.slice(0, 2)).toEqual([2, 2]);
    expect(r.errors.mismatches).toBe(0);
    expect(r.messages).toBeGreaterThan(20); // after the ramp, the loop runs (4 connections × 2 in flight)
  });

  it('gives up waiting after the ready timeout and counts the connection never served as starved', async () => {
    let accepted = 0;
    const port = await rawServer((s) => {
      if (accepted++ === 0) s.on('data', (d: Buffer) => s.write(d)); // only the first connection is ever answered
    });
    const r = await runTcpLoad(
      base(port, {
        connections: 2,
        inFlight: 1,
        warmupSec: 0,
        durationSec: 0.2,
        readyConnections: 2,
        readyTimeoutSec: 0.3,
        timeoutMs: 10_000,
      }),
    );
    expect(r.readiness!.timedOut).toBe(true);
    expect(r.readiness!.ready).toBe(1);
    expect(r.connections).toEqual({ total: 2, served: 1 });
  });

  it(`reports itself as the ${name} driver`, async () => {
    const { port } = await echoServer();
    const r = await runTcpLoad(base(port, { durationSec: 0.2, warmupSec: 0 }));
    expect(r.driver).toBe(name);
  });

  it('rejects invalid options', async () => {
    await expect(runTcpLoad(base(1, { connections: 0 }))).rejects.toThrow(/connections must be a positive integer/);
    await expect(runTcpLoad(base(1, { rate: 10, pattern: 'connect-per-request' }))).rejects.toThrow(/open-loop/);
  });
});
