/**
 * Proofs that each parallel model really runs handler work in parallel (two clients with block work finish in
 * about one block time with 2 workers, while the single-threaded models take two), and a killed cluster or
 * fork-pool worker is replaced while the server keeps serving.
 */
import { describe, it, expect, afterEach } from 'vitest';
import type net from 'node:net';
import { MODELS } from '../servers/registry.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { connect, delay, echoOnce, concurrentExchange } from './helpers/echo.js';
import { descendants, waitFor } from './helpers/processes.js';

const BLOCK_MS = 400;
let running: ServerProcess | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.stop();
  running = undefined;
});

/**
 * Two connections are first bound to their worker (the second connects while the first one's worker is blocked, so
 * a second worker must take it), then each sends one frame at the same moment: the time until both echoes are back.
 */
async function twoConcurrentFrames(port: number): Promise<number> {
  const a = await connect(port);
  sockets.push(a);
  const warmA = echoOnce(a);
  await delay(50);
  const b = await connect(port);
  sockets.push(b);
  await Promise.all([warmA, echoOnce(b)]);
  const t0 = performance.now();
  await Promise.all([echoOnce(a), echoOnce(b)]);
  return performance.now() - t0;
}

/** Two clients that each connect, send one frame and close, started together. */
async function twoClientsOneFrameEach(port: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    [0, 1].map(async () => {
      const s = await connect(port);
      sockets.push(s);
      await echoOnce(s);
      s.end();
    }),
  );
  return performance.now() - t0;
}

describe(`block:${BLOCK_MS} work with 2 workers`, () => {
  for (const model of MODELS.filter((m) => m.parallel)) {
    it(`${model.name} serves two clients in about one block time`, async () => {
      // The per-connection models' parallelism is their cap on live children or threads.
      running = await startServer({ model: model.name, work: `block:${BLOCK_MS}`, workers: 2, maxChildren: 2 });
      expect(running.ready.workers).toBe(2);
      const elapsed = await twoConcurrentFrames(running.ready.port);
      expect(elapsed).toBeGreaterThanOrEqual(BLOCK_MS * 0.95);
      expect(elapsed).toBeLessThan(BLOCK_MS * 1.5);
    });
  }

  for (const name of ['event-loop', 'iterative', 'native-epoll']) {
    const model = MODELS.find((m) => m.name === name)!;
    it.runIf(model.available().ok)(`${name} takes two block times`, async () => {
      running = await startServer({ model: name, work: `block:${BLOCK_MS}`, workers: 2 });
      const elapsed = await twoClientsOneFrameEach(running.ready.port);
      expect(elapsed).toBeGreaterThanOrEqual(BLOCK_MS * 1.9);
    });
  }
});

describe('a killed worker is replaced and the server keeps serving', () => {
  for (const name of ['cluster-rr', 'cluster-none', 'fork-pool']) {
    it(name, async () => {
      running = await startServer({ model: name, workers: 2 });
      const { port } = running.ready;
      const before = await descendants(running.pid);
      expect(before).toHaveLength(2);
      process.kill(before[0]!, 'SIGKILL');
      const replaced = await waitFor(async () => {
        const now = await descendants(running!.pid);
        return now.length === 2 && !now.includes(before[0]!);
      }, 10_000);
      expect(replaced).toBe(true);
      // Give the replacement a moment to listen / report ready, then every connection must still be echoed.
      await delay(300);
      const report = await concurrentExchange(port, 20, [16, 1000]);
      expect(report.failures).toEqual([]);
      expect(report.mismatches).toBe(0);
    });
  }
});
