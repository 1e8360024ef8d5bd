/**
 * Event loop plus a Piscina thread pool: the main thread's event loop does all the I/O (the shared endpoint, as in
 * event-loop), but each frame's handler work is dispatched to the pool with pool.run(work) and the connection waits
 * for it. It is always dispatched, even for work none, so the rows show what the hop to a thread really costs
 * (structured clone of the work object, a MessagePort round trip, a promise) next to what it buys for cpu/block work.
 *
 * Pool: minThreads = maxThreads = options.workers, threads never idle out, unbounded queue; one task per thread at a
 * time for cpu/block work, many for async work and `async` handlers (a waiting task does not occupy its thread).
 */
import { Piscina } from 'piscina';
import { withInjectedOverhead, type ConnectionHandler } from '../handler.js';
import { declaredAsync } from '../user-handler.js';
import { openEndpoint } from '../endpoint.js';
import type { RunningServer, ModelStartOptions } from '../types.js';

const TASK_FILE = new URL('../entries/piscina-task.js', import.meta.url).href;
/** How long each start-up probe task holds its thread, so N concurrent probes must use N threads. */
const PROBE_HOLD_MS = 20;
const ASYNC_TASKS_PER_THREAD = 1024;

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  const threads = options.workers;
  // Async work only waits: a thread can hold many such tasks at once, as one event loop holds many timers; so can an
  // `async` handler (one task a thread served io-wait's 2 ms timer at 848 msgs/s where the loops served 20k).
  // CPU and blocking work occupy the thread, so one task per thread there (Piscina's default).
  const waits =
    options.work.kind === 'async' || (options.work.kind === 'handler' && (await declaredAsync(options.work.module)));
  const concurrentTasksPerWorker = waits ? ASYNC_TASKS_PER_THREAD : 1;
  const pool = new Piscina({
    filename: TASK_FILE,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    concurrentTasksPerWorker,
  });
  pool.on('error', (error: Error) => process.stderr.write(`piscina: ${error.stack ?? error.message}\n`));

  try {
    // Ready means every thread has loaded the task file and run a task: N probes held concurrently need N threads.
    const ids = await Promise.all(
      Array.from({ length: threads }, () => pool.run(PROBE_HOLD_MS, { name: 'whichThread' }) as Promise<number>),
    );
    const distinct = new Set(ids).size;
    if (distinct !== threads)
      throw new Error(`piscina: ${threads} start-up probes ran on ${distinct} thread(s), expected ${threads}`);
  } catch (error) {
    await pool.destroy();
    throw error;
  }

  const work = options.work;
  // A request handler's request goes to the pool and its answer comes back: the bytes moved, not copied, both ways.
  const handler: ConnectionHandler =
    work.kind === 'handler'
      ? {
          kind: 'respond',
          respond: async (request) => {
            // A copy in an ArrayBuffer of its own, exactly the request: a Buffer's may be Node's shared pool, and the
            // socket's chunk may hold other frames; this one is moved to the thread, not cloned.
            const moved = new Uint8Array(request);
            const answer = (await pool.run(
              { module: work.module, request: moved.buffer },
              { name: 'respond', transferList: [moved.buffer] },
            )) as ArrayBuffer;
            return Buffer.from(answer);
          },
        }
      : { kind: 'echo', beforeFrame: withInjectedOverhead(() => pool.run(work) as Promise<void>) };
  let endpoint: Awaited<ReturnType<typeof openEndpoint>>;
  try {
    endpoint = await openEndpoint(options.protocol, options, handler);
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  const { port, close: closeEndpoint } = endpoint;

  return {
    port,
    workers: threads,
    details: { pool: 'piscina', piscinaVersion: Piscina.version, concurrentTasksPerWorker, dispatch: 'every frame' },
    close: async () => {
      await closeEndpoint();
      await pool.destroy();
    },
  };
}
