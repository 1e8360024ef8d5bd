/**
 * Thread per connection: a new worker thread is started for each accepted connection, serves it alone and is ended
 * when it closes; at most options.maxChildren threads are alive at once, and over the cap connections wait in
 * connection-queue.ts's FIFO queue (the same cap, queue and departed-client handling as fork-per-connection).
 *
 * The main thread RELAYS the connection's bytes over a MessagePort (entries/connection-thread.ts): Node cannot hand
 * an accepted socket to a thread, and the faithful alternatives are unsafe or unavailable on Node 20 —
 * - wrapping the accepted fd in the thread (new net.Socket({ fd })) raced on fd reuse and aborted the process;
 * - a spare thread accepting on the shared listening fd (as worker-threads does) cannot stop accepting without
 *   closing that fd for every thread (Node has no dup), so it would accept more than its one connection;
 * - a spare thread with its own SO_REUSEPORT socket needs Node >= 22.12, and closing it after its one accept resets
 *   whatever the kernel had already queued on it.
 * So the thread does everything a connection's thread does (frame parsing, the handler work, the echo) but not the
 * socket I/O: every message costs a hop to the thread and one back (a MessagePort round trip, as piscina's task)
 * on top of the main thread's reads and writes. The name says thread per connection; its details say relayed.
 */
import type net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { RunningServer, ModelStartOptions } from '../types.js';
import { post, type ConnectionThreadData, type FromThread, type ToThread } from '../thread-relay.js';
import { ConnectionQueue, listenIntoQueue } from './connection-queue.js';
import { startTimeoutMs, waitForReady } from './supervise.js';

const THREAD_ENTRY = new URL('../entries/connection-thread.js', import.meta.url);
/** A thread that has not reported ready in this time is given up (and its connection with it). */
const THREAD_READY_TIMEOUT_MS = 10_000;

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  if (options.protocol === 'udp') throw new Error('thread-per-connection gives each connection a thread; UDP has none');
  const maxThreads = options.maxChildren;
  const threads = new Set<Worker>();
  let closing = false;

  const threadFor = (socket: net.Socket): void => {
    const data: ConnectionThreadData = { protocol: options.protocol, work: options.work, ...remoteOf(socket) };
    const worker = new Worker(THREAD_ENTRY, { workerData: data });
    threads.add(worker);
    worker.once('exit', () => {
      threads.delete(worker);
      socket.destroy();
      queue.serveNext();
    });
    worker.on('error', (error) => {
      if (!closing)
        process.stderr.write(`thread-per-connection: a connection's thread failed: ${error.stack ?? error.message}\n`);
    });
    waitForReady(worker, 'thread-per-connection thread', startTimeoutMs(THREAD_READY_TIMEOUT_MS)).then(
      () => (closing || socket.destroyed ? void worker.terminate() : relay(socket, worker)),
      (error: Error) => {
        if (!closing) process.stderr.write(`${error.message}\n`);
        void worker.terminate();
      },
    );
  };

  const queue = new ConnectionQueue(maxThreads, () => threads.size, threadFor);
  const { server, port } = await listenIntoQueue(queue, options.host, options.port);

  return {
    port,
    workers: maxThreads,
    details: {
      maxThreads,
      overCap: 'queue',
      threadStart: 'new Worker per accepted connection',
      io: 'main thread, relayed over a MessagePort',
    },
    close: async () => {
      closing = true;
      queue.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Terminated, not asked: a thread blocked in handler work (block:N) could not answer.
      await Promise.all([...threads].map((w) => w.terminate()));
      await closed;
    },
  };
}

/**
 * Joins the socket and its thread: the client's bytes go to the thread, the thread's to the client. Reading stops
 * while the thread's input is full or the socket's output is (an echo's output follows its input, so that bounds
 * both); the thread is ended once the socket has closed.
 */
function relay(socket: net.Socket, worker: Worker): void {
  let threadFull = false;
  let socketFull = false;
  const resumeIfFree = (): void => {
    if (!threadFull && !socketFull && !socket.destroyed) socket.resume();
  };
  const toThread = (message: ToThread): void => worker.postMessage(message);
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => post(worker, chunk));
  socket.on('end', () => toThread('end'));
  socket.on('drain', () => {
    socketFull = false;
    resumeIfFree();
  });
  socket.once('close', () => {
    toThread('close');
    void worker.terminate();
  });
  worker.on('message', (message: FromThread) => {
    if (message instanceof Uint8Array) {
      if (!socket.write(message)) {
        socketFull = true;
        socket.pause();
      }
    } else if (message === 'end') socket.end();
    else if (message === 'destroy') socket.destroy();
    else if (message === 'pause') {
      threadFull = true;
      socket.pause();
    } else if (message === 'resume') {
      threadFull = false;
      resumeIfFree();
    }
  });
  socket.resume();
}

function remoteOf(socket: net.Socket): Pick<ConnectionThreadData, 'remoteAddress' | 'remotePort'> {
  return {
    ...(socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}),
    ...(socket.remotePort ? { remotePort: socket.remotePort } : {}),
  };
}
