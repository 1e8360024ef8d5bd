/**
 * worker_threads that own their connections: every thread accepts on the same port and serves what it accepts
 * with the shared endpoint; the main thread serves nothing and only starts and stops the threads.
 *
 * Node 20 cannot hand an accepted socket to a thread (and wrapping an accepted fd in a thread, new net.Socket({fd}),
 * raced on fd reuse and aborted the process in tests), so the threads share the LISTENING socket instead:
 * - shared-listen-fd (any Node, Linux): thread 0 listens on host:port and reports its listening fd number (fds are
 *   process-wide; found through /proc, see echo-thread.ts); threads 1..N-1 listen({ fd }) on that same fd. Each
 *   thread's libuv epoll watches it and whoever wins accept() owns the connection. Every thread closes that one fd
 *   when its server closes, so a thread must live as long as the server: a thread that dies closes the listening
 *   socket for all (reported on stderr; threads are not replaced). Threads are stopped together at close().
 * - reusePort (Node >= 22.12 / 23.1, Linux): every thread binds its own socket with SO_REUSEPORT and the kernel
 *   spreads connections by hash. Used only if the endpoint passes reusePort on to listen(); if a second thread gets
 *   EADDRINUSE (the endpoint ignored it), the model falls back to shared-listen-fd and says so in details.
 * Neither balances: over many connections the spread is near even (200 connections: 98/102, 107/93 on 2 threads),
 * but two connections arriving together land on the same thread about half the time (the thread that wakes first
 * accepts every pending connection; the reusePort hash collides), so with blocking work one waits for the other.
 * Set CONBENCH_REPORT_SPREAD=1 to print the frames each thread handled when the server closes.
 */
import { Worker } from 'node:worker_threads';
import type { RunningServer, ModelStartOptions } from '../types.js';
import type { ThreadData, ThreadMessage } from '../entries/echo-thread.js';
import { readyTimeoutMs } from './supervise.js';
import { reusePortSupported, WORKER_THREADS_UDP_UNSUPPORTED } from '../node-features.js';

const THREAD_ENTRY = new URL('../entries/echo-thread.js', import.meta.url);

export { reusePortSupported };

class ThreadStartError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Thread {
  index: number;
  worker: Worker;
  ready: Promise<{ port: number; fd?: number }>;
  exited: Promise<void>;
}

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  // UDP: every thread binds its own socket with reusePort; there is no listening fd to share on older Node.
  if (options.protocol === 'udp' && !reusePortSupported()) throw new Error(WORKER_THREADS_UDP_UNSUPPORTED);
  const count = options.workers;
  const threads: Thread[] = [];
  const frameCounts = new Int32Array(new SharedArrayBuffer(4 * count));
  let closing = false;
  let mechanism: 'reusePort' | 'shared-listen-fd' = reusePortSupported() ? 'reusePort' : 'shared-listen-fd';
  let fallbackReason: string | undefined;

  const startThread = (index: number, target: ThreadData['target'], findFd: boolean): Thread => {
    const data: ThreadData = { index, protocol: options.protocol, work: options.work, target, findFd, frameCounts };
    const worker = new Worker(THREAD_ENTRY, { workerData: data });
    const thread: Thread = { index, worker } as Thread;
    thread.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    thread.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ThreadStartError(`thread ${index} did not report ready in time`)),
        readyTimeoutMs(count),
      );
      worker.on('message', (message: ThreadMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.fd === undefined ? { port: message.port } : { port: message.port, fd: message.fd });
        } else if (message.type === 'error') {
          clearTimeout(timer);
          reject(
            new ThreadStartError(`worker-threads thread ${index} failed to start: ${message.message}`, message.code),
          );
        }
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        reject(new ThreadStartError(`worker-threads thread ${index} failed: ${error.message}`));
        if (!closing) process.stderr.write(`worker-threads: thread ${index} failed: ${error.stack ?? error.message}\n`);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new ThreadStartError(`worker-threads thread ${index} exited before it was ready (code ${code})`));
        if (!closing && started) {
          process.stderr.write(
            `worker-threads: thread ${index} exited unexpectedly (code ${code})` +
              (mechanism === 'shared-listen-fd' ? '; the shared listening socket is closed for every thread\n' : '\n'),
          );
        }
      });
    });
    thread.ready.catch(() => undefined); // awaited below; avoid an unhandled rejection for threads that fail later
    threads.push(thread);
    return thread;
  };

  // Threads are terminated, not asked to close: a thread blocked in handler work (block:N) could not answer, and
  // terminating closes its endpoint (listening socket and connections) with it. They are stopped together, since on
  // shared-listen-fd the first one to go closes the listening socket for all.
  const close = async (): Promise<void> => {
    closing = true;
    await Promise.all(
      threads.map(async (t) => {
        await t.worker.terminate();
        await t.exited;
      }),
    );
    if (process.env.CONBENCH_REPORT_SPREAD) {
      process.stderr.write(`worker-threads frames per thread: ${Array.from(frameCounts).join(' ')}\n`);
    }
  };

  let started = false;
  let port: number;
  try {
    const useReusePort = mechanism === 'reusePort';
    const first = startThread(
      0,
      { host: options.host, port: options.port, ...(useReusePort ? { reusePort: true } : {}) },
      options.protocol !== 'udp',
    );
    const firstReady = await first.ready;
    port = firstReady.port;
    const fdTarget = (): ThreadData['target'] => {
      if (firstReady.fd === undefined) throw new Error('worker-threads: thread 0 did not report its listening fd');
      return { fd: firstReady.fd };
    };
    const rest: Thread[] = [];
    for (let i = 1; i < count; i++) {
      rest.push(startThread(i, useReusePort ? { host: options.host, port, reusePort: true } : fdTarget(), false));
    }
    const results = await Promise.allSettled(rest.map((t) => t.ready));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ thread: rest[i]!, error: r.reason as ThreadStartError }] : [],
    );
    if (failed.length > 0) {
      if (!(useReusePort && options.protocol !== 'udp' && failed.every((f) => f.error.code === 'EADDRINUSE')))
        throw failed[0]!.error;
      // The endpoint did not pass reusePort to listen(): join thread 0's listening socket instead.
      mechanism = 'shared-listen-fd';
      fallbackReason = 'reusePort not passed to listen() by the endpoint';
      for (const f of failed) threads.splice(threads.indexOf(f.thread), 1);
      const retried = failed.map((f) => startThread(f.thread.index, fdTarget(), false));
      await Promise.all(retried.map((t) => t.ready));
    }
    started = true;
  } catch (error) {
    await close();
    throw error;
  }

  return {
    port,
    workers: count,
    details: {
      listen: mechanism,
      ...(fallbackReason ? { listenFallback: fallbackReason } : {}),
      node: process.versions.node,
    },
    close,
  };
}
