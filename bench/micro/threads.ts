/**
 * Thread primitives: a postMessage round trip over a MessageChannel, new Worker() to first message, and a piscina
 * task round trip with the piscina model's own task file and pool settings (one thread, never idling out).
 * Threads live in this process, so process CPU time covers both sides.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import type { FnReturnedObject } from 'tinybench';
import { compiled } from '../../lib/paths.js';
import { waitForReady } from '../../servers/models/supervise.js';
import type { Work } from '../../servers/work.js';
import { ownCpuUs } from './measure.js';
import type { Fixture, Primitive } from './primitive.js';

const THREAD_ENTRY = compiled('bench/micro/entries/thread.ts');
const PISCINA_TASK = compiled('servers/entries/piscina-task.ts');
const SMALL_MESSAGE = { type: 'echo', seq: 1, note: 'conbench' };
const NO_WORK: Work = { kind: 'none' };

const processCpu = async (): Promise<Record<string, number>> => ({ process: ownCpuUs() });

async function startThread(): Promise<Worker> {
  const worker = new Worker(THREAD_ENTRY);
  try {
    await waitForReady(worker, 'micro thread', 10_000);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return worker;
}

const postMessageRoundTrip: Primitive = {
  id: 'thread-postmessage',
  title: 'postMessage round trip (worker_threads, MessageChannel)',
  op: 'a small object to a worker thread and back over a MessagePort',
  async setup(): Promise<Fixture> {
    const worker = await startThread();
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ port: port2 }, [port2]);
    let reply: (() => void) | undefined;
    port1.on('message', () => reply?.());
    return {
      fn: () =>
        new Promise<void>((resolve) => {
          reply = resolve;
          port1.postMessage(SMALL_MESSAGE);
        }),
      async: true,
      cpu: processCpu,
      close: async () => {
        port1.close();
        await worker.terminate();
      },
    };
  },
};

const threadStart: Primitive = {
  id: 'thread-start',
  title: 'new Worker() to first message',
  op: 'start a worker thread (a minimal file), wait for its first message; then terminate it',
  minSamples: 32,
  async setup(): Promise<Fixture> {
    const live = new Set<Worker>();
    return {
      fn: async (): Promise<FnReturnedObject> => {
        const t0 = performance.now();
        const worker = new Worker(THREAD_ENTRY);
        live.add(worker);
        try {
          await waitForReady(worker, 'micro thread', 10_000);
          const ready = performance.now() - t0;
          await worker.terminate();
          return { overriddenDuration: ready, overriddenIterationCost: performance.now() - t0 };
        } finally {
          live.delete(worker);
          await worker.terminate();
        }
      },
      async: true,
      cpu: processCpu,
      close: async () => {
        await Promise.all([...live].map((w) => w.terminate()));
      },
    };
  },
};

const piscinaTask: Primitive = {
  id: 'piscina-task',
  title: 'piscina task round trip',
  op: "pool.run(work none) on a one-thread pool with the piscina model's task file, until it resolves",
  async setup(): Promise<Fixture> {
    const pool = new Piscina({ filename: PISCINA_TASK, minThreads: 1, maxThreads: 1, idleTimeout: Infinity });
    try {
      await pool.run(NO_WORK); // the thread is up and has loaded the task file
    } catch (error) {
      await pool.destroy();
      throw error;
    }
    return {
      fn: () => pool.run(NO_WORK) as Promise<void>,
      async: true,
      cpu: processCpu,
      details: () => ({ piscina: Piscina.version, threads: 1 }),
      close: () => pool.destroy(),
    };
  },
};

export const THREAD_PRIMITIVES: readonly Primitive[] = [postMessageRoundTrip, threadStart, piscinaTask];
