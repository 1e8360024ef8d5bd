/**
 * Process per connection, the classic accept-then-fork design: the parent accepts with pauseOnConnect and forks a
 * fresh child for each connection, hands it the socket with child.send('socket', socket) (keepOpen false: the
 * parent's copy is closed once the child has it), and the child serves that one connection and exits when it
 * closes. Nothing is forked ahead of time, so every connection pays a Node start (~100 ms and ~40 MB here).
 *
 * Cap: at most options.maxChildren children are alive at once (starting ones included); over the cap connections
 * wait in connection-queue.ts's FIFO queue, and those whose client left are dropped from it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { childEnv } from '../entries/child-config.js';
import type { RunningServer, ModelStartOptions } from '../types.js';
import { FORK_CHILD_ENTRY } from './fork-pool.js';
import { startTimeoutMs, stopChild, waitForReady } from './supervise.js';
import { ConnectionQueue, listenIntoQueue } from './connection-queue.js';

/** A child that has not reported ready in this time is given up (and its connection with it). */
const CHILD_READY_TIMEOUT_MS = 15_000;

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  if (options.protocol === 'udp') throw new Error('fork-per-connection hands over connections; UDP has none');
  const env = childEnv({ protocol: options.protocol, host: options.host, port: options.port, work: options.work });
  const maxChildren = options.maxChildren;
  const children = new Set<ChildProcess>();
  let closing = false;

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
      queue.serveNext();
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

  const queue = new ConnectionQueue(maxChildren, () => children.size, forkFor);
  const { server, port } = await listenIntoQueue(queue, options.host, options.port);

  return {
    port,
    workers: maxChildren,
    details: { maxChildren, overCap: 'queue', childStart: 'fork per accepted connection' },
    close: async () => {
      closing = true;
      queue.close();
      // Not awaited: once a socket has been sent to a child, Node's server polls the children it sent sockets to
      // before emitting 'close', and when every such child has already exited it never emits it (net.Server.close
      // with _usingWorkers and no workers left). The listening handle is closed here, synchronously, all the same;
      // the children are what we wait for.
      server.close();
      await Promise.all([...children].map((c) => stopChild(c)));
    },
  };
}
