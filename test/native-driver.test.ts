import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { findDriver } from '../clients/drivers.js';
import { runClientProcess } from '../bench/run/client-process.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { runTcpLoad, type TcpLoadOptions } from '../clients/tcp.js';
import {
  nativeDriverStatus,
  nativeLoadArgs,
  runNativeTcpLoad,
  toLoadResult,
  type NativeRawResult,
} from '../clients/native-tcp.js';
import { decodeHistogram, latencyHistogram } from '../clients/histogram.js';
import { noErrors } from '../clients/load-result.js';
import { fillPayload } from '../lib/seeded-bytes.js';

const native = nativeDriverStatus();

describe('native driver result conversion (pure)', () => {
  const raw = (o: Partial<NativeRawResult> = {}): NativeRawResult => ({
    driver: 'native',
    seconds: 2,
    messages: 6,
    bytes: 6 * 68,
    errors: noErrors(),
    cpuPercent: 50,
    busiestThreadCpuPercent: 50,
    threads: 1,
    pinned: false,
    latency: [
      [100, 3],
      [2048, 2],
      [150_000, 1],
    ],
    ...o,
  });

  it('records the sparse pairs into an HdrHistogram without losing counts or buckets', () => {
    const r = toLoadResult(raw());
    const h = decodeHistogram(r.histogram!);
    expect(h.totalCount).toBe(6);
    expect(r.latency.p50).toBe(100);
    // Values come back as the same HdrHistogram bucket (3 significant digits).
    const reference = latencyHistogram();
    reference.recordValue(150_000);
    expect(r.latency.max).toBe(reference.maxValue);
    expect(r.msgsPerSec).toBe(3);
    expect(r.driver).toBe('native');
  });

  it('flags the driver as the bottleneck when its busiest thread is at ≥ 90 % CPU, not its total', () => {
    expect(toLoadResult(raw({ cpuPercent: 120, busiestThreadCpuPercent: 60, threads: 2 })).client.saturated).toBe(
      false,
    );
    const hot = toLoadResult(raw({ cpuPercent: 95, busiestThreadCpuPercent: 95 }));
    expect(hot.client.saturated).toBe(true);
    expect(hot.client.reason).toMatch(/native driver thread at 95 %/);
  });

  it('passes every option to the C driver', () => {
    const o: TcpLoadOptions = {
      host: '::1',
      port: 9,
      connections: 3,
      inFlight: 2,
      payloadBytes: 10,
      warmupSec: 0.5,
      durationSec: 2,
      pattern: 'persistent',
      rate: 100,
      timeoutMs: 300,
      readyConnections: 3,
      readyTimeoutSec: 4,
    };
    expect(nativeLoadArgs({ ...o, threads: 2 }).join(' ')).toBe(
      '--target [::1]:9 --connections 3 --in-flight 2 --size 10 --duration 2 --warmup 0.5 --pattern persistent --timeout 300 --threads 2 --rate 100 --ready-connections 3 --ready-timeout 4',
    );
  });
});

describe.skipIf(!native.ok)(
  `native driver against real servers${native.ok ? '' : ` (skipped: ${native.reason})`}`,
  () => {
    const servers: ServerProcess[] = [];
    afterAll(async () => {
      for (const s of servers) await s.stop();
    });
    const start = async (model: string): Promise<number> => {
      const s = await startServer({ model });
      servers.push(s);
      return s.ready.port;
    };
    const load = (port: number, o: Partial<TcpLoadOptions> = {}): TcpLoadOptions => ({
      host: '127.0.0.1',
      port,
      connections: 8,
      inFlight: 1,
      payloadBytes: 64,
      warmupSec: 0.2,
      durationSec: 1,
      pattern: 'persistent',
      timeoutMs: 2000,
      ...o,
    });

    it('both drivers verify the same number of messages against the same server at a fixed rate', async () => {
      const port = await start('event-loop');
      const o = load(port, { rate: 1500, connections: 10 });
      const fromNode = await runTcpLoad(o);
      const fromNative = await runNativeTcpLoad(o);
      for (const r of [fromNode, fromNative]) {
        expect(r.errors.mismatches + r.errors.timeouts + r.errors.errors).toBe(0);
        expect(r.msgsPerSec).toBeGreaterThan(1500 * 0.97);
        expect(r.msgsPerSec).toBeLessThan(1500 * 1.03);
      }
      expect(Math.abs(fromNative.messages - fromNode.messages) / fromNode.messages).toBeLessThan(0.03);
    });

    it('splits connections over threads and still verifies every echo', async () => {
      const port = await start('native-epoll');
      const r = await runNativeTcpLoad({
        ...load(port, { connections: 9, inFlight: 2, durationSec: 0.5 }),
        threads: 2,
      });
      expect(r.messages).toBeGreaterThan(100);
      expect(r.errors.mismatches).toBe(0);
      expect(r.client.threads).toBe(2);
      expect(r.connections).toEqual({ total: 9, served: 9 });
    });

    it('streams 1 MiB frames and connect-per-request exchanges, verifying every byte', async () => {
      const port = await start('native-epoll');
      const big = await runNativeTcpLoad(load(port, { connections: 2, payloadBytes: 1024 * 1024, durationSec: 0.5 }));
      expect(big.messages).toBeGreaterThan(0);
      expect(big.bytes).toBe(big.messages * (1024 * 1024 + 4));
      const cpr = await runNativeTcpLoad(
        load(port, { pattern: 'connect-per-request', connections: 4, durationSec: 0.5 }),
      );
      expect(cpr.messages).toBeGreaterThan(10);
      expect(cpr.errors.mismatches + cpr.errors.errors).toBe(0);
    });

    it("the bench's driver keeps its connections open after the window until the bench has sampled the server", async () => {
      // A model that ends a process or thread with each connection must still be whole when the sampler looks.
      const open = new Set<Socket>();
      const server = createServer((socket) => {
        open.add(socket);
        socket.on('close', () => open.delete(socket));
        socket.on('error', () => {}); // the driver closes with echoes unread: a reset, not a failure
        socket.pipe(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const command = findDriver('native')!.command(load(port, { connections: 4, durationSec: 0.3 }));
        expect(command.lingers).toBe(true);
        let openWhileSampling = -1;
        const result = await runClientProcess({
          ...command,
          timeoutMs: 30_000,
          // The "sampler" takes its time: the connections must outlast it, however long it is (up to the limit).
          onPhase: (phase) =>
            phase === 'done'
              ? new Promise<void>((resolve) =>
                  setTimeout(() => {
                    openWhileSampling = open.size;
                    resolve();
                  }, 300),
                )
              : undefined,
        });
        expect(openWhileSampling).toBe(4);
        expect(result.errors.mismatches).toBe(0);
        await expect.poll(() => open.size, { timeout: 10_000 }).toBe(0);
      } finally {
        server.close();
      }
    });

    it('fails with a one-line error and exit 2 on bad usage or an unresolvable host', async () => {
      const bad = spawnSync(native.ok ? native.path : 'false', ['--target', '127.0.0.1:1', '--connections', '0'], {
        encoding: 'utf8',
      });
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim()).toMatch(/^error: --connections must be an integer from 1 to 100000 \(got "0"\)$/);
      const unresolvable = spawnSync(native.ok ? native.path : 'false', ['--target', 'nohost.invalid:80'], {
        encoding: 'utf8',
      });
      expect(unresolvable.status).toBe(2);
      expect(unresolvable.stderr).toMatch(/cannot be resolved/);
    });
  },
);

describe.skipIf(!native.ok)('--seed: the same payload bytes from every driver', () => {
  /** The payload of the first frame a driver sends to a server that echoes and keeps it. */
  async function firstPayload(run: (port: number) => Promise<unknown>): Promise<Buffer> {
    let first: Buffer | undefined;
    const server = createServer((s: Socket) => {
      s.on('error', () => {});
      s.on('data', (d) => {
        first ??= Buffer.from(d.subarray(4, 4 + 64));
        s.write(d);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await run((server.address() as AddressInfo).port);
    } finally {
      await new Promise((r) => server.close(r));
    }
    return first!;
  }
  const load = (port: number): TcpLoadOptions => ({
    host: '127.0.0.1',
    port,
    connections: 1,
    inFlight: 1,
    payloadBytes: 64,
    pattern: 'persistent',
    warmupSec: 0,
    durationSec: 0.1,
    timeoutMs: 2000,
    seed: 42,
  });

  it("the native driver and the Node client send the seed's bytes (after the 8-byte tag), and the same again", async () => {
    const c = await firstPayload((port) => runNativeTcpLoad(load(port)));
    const node = await firstPayload((port) => runTcpLoad(load(port)));
    const again = await firstPayload((port) => runNativeTcpLoad(load(port)));
    const expected = new Uint8Array(64);
    fillPayload(expected, 0, 42, () => {});
    expect([...c.subarray(8)]).toEqual([...expected.subarray(8)]);
    expect([...node.subarray(8)]).toEqual([...expected.subarray(8)]);
    expect(again.equals(c)).toBe(true);
    const unseeded = await firstPayload((port) => runNativeTcpLoad({ ...load(port), seed: undefined }));
    expect(unseeded.subarray(8).equals(c.subarray(8))).toBe(false);
  });
});
