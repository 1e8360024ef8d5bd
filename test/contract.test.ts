/**
 * The contract every registered model must keep, run over the registry so a new model is covered by adding it:
 * byte-exact echo under 50+ concurrent connections with every kind of handler work, and a clean stop that leaves
 * no process or listening port behind.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { MODELS } from '../servers/registry.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { concurrentExchange, connect, echoOnce, httpExchange, udpExchange } from './helpers/echo.js';
import { groupAlive, portClosed, waitFor } from './helpers/processes.js';

const WORK_KINDS = ['none', 'cpu:50', 'block:1', 'async:2'] as const;
const CONNECTIONS = 50;
// Zero-length, tiny, odd, and one frame larger than a socket buffer.
const SIZES = [0, 1, 64, 1000, 70_000];

let running: ServerProcess | undefined;

/** Stops the running server: exit code 0 and nothing left in its process group. */
async function stopsCleanly(): Promise<void> {
  const pid = running!.pid;
  expect((await running!.stop()).code).toBe(0);
  running = undefined;
  expect(await waitFor(() => !groupAlive(pid), 3000)).toBe(true);
}
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/**
 * A process per connection pays a Node start (~100 ms of CPU here) for every connection: 50 of them made each of its
 * cases take 3.5–10 s. Twelve connections over a cap of four still test what the contract is about for it (byte-exact
 * echo, four served at once, eight waiting their turn in the FIFO queue) at a quarter of the starts.
 */
const PER_CONNECTION_PROCESS: Record<string, { connections: number; maxChildren: number }> = {
  'fork-per-connection': { connections: 12, maxChildren: 4 },
  // A thread per connection: 24 connections over a cap of 8, so two thirds of them wait in the queue for a thread.
  'thread-per-connection': { connections: 24, maxChildren: 8 },
};

for (const model of MODELS) {
  const availability = model.available();
  const capped = PER_CONNECTION_PROCESS[model.name];
  const connections = capped?.connections ?? CONNECTIONS;
  const cap = capped ? { maxChildren: capped.maxChildren } : {};
  describe.skipIf(!availability.ok)(
    `${model.name}${availability.ok ? '' : ` (unavailable: ${availability.reason})`}`,
    () => {
      for (const work of WORK_KINDS) {
        it(`${model.name}: echoes byte-exactly on ${connections} concurrent connections with work ${work}, then stops cleanly`, async () => {
          running = await startServer({ model: model.name, work, workers: 2, cpuRate: 100, ...cap });
          const { port } = running.ready;
          const pid = running.pid;
          expect(running.ready.model).toBe(model.name);

          const report = await concurrentExchange(port, connections, SIZES);
          expect(report.failures).toEqual([]);
          expect(report.mismatches).toBe(0);
          expect(report.frames).toBe(connections * SIZES.length);

          const stopped = await running.stop();
          running = undefined;
          expect(stopped.forced).toBe(false);
          expect(stopped.code).toBe(0);
          expect(await waitFor(() => !groupAlive(pid), 3000)).toBe(true);
          expect(await portClosed(port)).toBe(true);
        });
      }

      // The gate's test knob (serve --inject-cpu): every message of every Node model pays the injected busy work. With a
      // claimed 10,000 spin iterations per µs, 5,000 µs is 5e7 iterations: tens of ms on any machine, so a second echo
      // on a warm connection (the first may include a child's start) taking ≥ 5 ms shows the knob reached the handler.
      it.runIf(model.runtime === 'node')(
        `${model.name}: --inject-cpu adds its busy work to every message`,
        async () => {
          running = await startServer({ model: model.name, workers: 2, cpuRate: 10_000, injectCpuMicros: 5000 });
          expect(running.ready.details).toMatchObject({ injectCpuMicros: 5000, injectCpuIterations: 50_000_000 });
          const socket = await connect(running.ready.port);
          try {
            await echoOnce(socket);
            const t0 = performance.now();
            await echoOnce(socket);
            expect(performance.now() - t0).toBeGreaterThanOrEqual(5);
          } finally {
            socket.destroy();
          }
          await stopsCleanly();
        },
      );

      // A one-connection-at-a-time server would keep every other keep-alive client waiting: its clients close instead.
      const keepAlive = (model.servesAtOnce?.(CONNECTIONS, { maxChildren: CONNECTIONS }) ?? CONNECTIONS) > 1;
      it.runIf(model.protocols.includes('http'))(
        `${model.name}: HTTP: echoes POST bodies and GETs the fixed body on ${connections} concurrent ${keepAlive ? 'keep-alive' : 'connection-per-request'} clients`,
        async () => {
          running = await startServer({
            model: model.name,
            protocol: 'http',
            work: 'async:1',
            workers: 2,
            cpuRate: 100,
            ...cap,
          });
          const report = await httpExchange(running.ready.port, connections, 3, [0, 64, 70_000], keepAlive);
          expect(report.failures).toEqual([]);
          expect(report.mismatches).toBe(0);
          await stopsCleanly();
        },
      );

      // Models that do not serve UDP are listed as skipped here, with the reason in the title.
      it.runIf(model.protocols.includes('udp'))(
        `${model.name}: UDP: echoes datagrams on 50 concurrent flows${model.protocols.includes('udp') ? '' : ` (not served: ${model.whyNot?.udp ?? 'no reason given'})`}`,
        async () => {
          running = await startServer({ model: model.name, protocol: 'udp', work: 'cpu:20', workers: 2, cpuRate: 100 });
          const report = await udpExchange(running.ready.port, CONNECTIONS, 5, 512);
          expect(report.failures).toEqual([]);
          expect(report.mismatches).toBe(0);
          await stopsCleanly();
        },
      );
    },
  );
}
