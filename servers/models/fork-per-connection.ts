/**
 * Process per connection, the classic accept-then-fork design: the parent accepts with pauseOnConnect and forks a
 * fresh child for each connection, hands it the socket with child.send('socket', socket) (keepOpen false: the
 * parent's copy is closed once the child has it), and the child serves that one connection and exits when it
 * closes. Nothing is forked ahead of time, so every connection pays a Node start (~100 ms and ~40 MB here).
 *
 * Cap: at most options.maxChildren children are alive at once (starting ones included). Over the cap a new
 * connection is not refused: it WAITS, paused in the parent (its bytes stay in the kernel), in a FIFO queue and gets
 * a child as soon as one exits. That mirrors a pre-fork server that has hit its process limit, where new clients sit
 * in the accept queue; refusing instead would turn overload into errors rather than latency. A queued connection
 * whose client has left (departed-peers.ts tells, every QUEUE_SWEEP_MS) is dropped from the queue instead of being
 * given a child: otherwise 1000 slowloris clients that connected and left cost 1000 process starts before the next
 * real client is served.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { childEnv } from '../entries/child-config.js';
import { listenOn } from '../listen.js';
import type { RunningServer, ModelStartOptions } from '../types.js';
import { FORK_CHILD_ENTRY } from './fork-pool.js';
import { startTimeoutMs, stopChild, waitForReady } from './supervise.js';
import { departedPeers } from './departed-peers.js';

/** A child that has not reported ready in this time is given up (and its connection with it). */
const CHILD_READY_TIMEOUT_MS = 15_000;
/** How often the queue is checked for clients that left, while anything waits in it. */
const QUEUE_SWEEP_MS = 250;

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  if (options.protocol === 'udp') throw new Error('fork-per-connection hands over connections; UDP has none');
  const env = childEnv({ protocol: options.protocol, host: options.host, port: options.port, work: options.work });
  const maxChildren = options.maxChildren;
  const children = new Set<ChildProcess>();
  let waiting: net.Socket[] = [];
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;

  const sweepQueue = (): void => {
    for (const socket of departedPeers(waiting.filter((s) => !s.destroyed))) socket.destroy();
    waiting = waiting.filter((s) => !s.destroyed);
    if (waiting.length === 0) stopSweeping();
  };
  const stopSweeping = (): void => {
    clearInterval(sweeper);
    sweeper = undefined;
  };

  const serveNextWaiting = (): void => {
    while (!closing && children.size < maxChildren && waiting.length > 0) {
      const socket = waiting.shift()!;
      if (!socket.destroyed) forkFor(socket);
    }
  };

  const forkFor = (socket: net.Socket): void => {
    const child = fork(FORK_CHILD_ENTRY, ['single'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    let gone = false;
    let handed = false;
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      children.delete(child);
      if (!socket.destroyed && !handed) socket.destroy();
      serveNextWaiting();
    };
    child.once('exit', onGone);
    child.on('error', () => {
      if (child.pid === undefined) onGone(); // never started: no 'exit' will come
    });
    waitForReady(child, `fork-per-connection child ${child.pid}`, startTimeoutMs(CHILD_READY_TIMEOUT_MS)).then(
      () => {
        if (closing || socket.destroyed) {
          void stopChild(child);
          return;
        }
        handed = true;
        child.send('socket', socket, { keepOpen: false }, (error) => {
          if (!error) return;
          socket.destroy();
          void stopChild(child);
        });
      },
      (error: Error) => {
        if (!closing) process.stderr.write(`${error.message}\n`);
        socket.destroy();
        void stopChild(child);
      },
    );
  };

  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (closing) {
      socket.destroy();
      return;
    }
    waiting.push(socket);
    serveNextWaiting();
    if (waiting.length > 0 && sweeper === undefined) sweeper = setInterval(sweepQueue, QUEUE_SWEEP_MS).unref();
  });
  const port = await listenOn(server, options.host, options.port);

  return {
    port,
    workers: maxChildren,
    details: { maxChildren, overCap: 'queue', childStart: 'fork per accepted connection' },
    close: async () => {
      closing = true;
      stopSweeping();
      // Not awaited: once a socket has been sent to a child, Node's server polls the children it sent sockets to
      // before emitting 'close', and when every such child has already exited it never emits it (net.Server.close
      // with _usingWorkers and no workers left). The listening handle is closed here, synchronously, all the same;
      // the children are what we wait for.
      server.close();
      for (const socket of waiting.splice(0)) socket.destroy();
      await Promise.all([...children].map((c) => stopChild(c)));
    },
  };
}
