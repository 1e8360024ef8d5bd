/**
 * Pre-forked pool of child processes (options.workers of them). The parent's net.Server accepts with
 * pauseOnConnect, so no byte is read in the parent, and hands each socket round-robin to the next ready child with
 * child.send('socket', socket). keepOpen is false: the parent's copy is closed once the child acknowledged it.
 * Node queues handles per channel and sends them one at a time, so a slow child only delays its own sockets.
 *
 * A child that dies is taken out of the rotation at once and replaced after a backoff (100 ms doubling to 2 s)
 * unless the server is closing; connections accepted while no child is ready wait (paused) in a FIFO.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../entries/child-config.js';
import { listenOn } from '../listen.js';
import type { RunningServer, ModelStartOptions } from '../types.js';
import { hasExited, readyTimeoutMs, RestartBackoff, stopChild, waitForReady } from './supervise.js';

export const FORK_CHILD_ENTRY = fileURLToPath(new URL('../entries/fork-child.js', import.meta.url));

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  if (options.protocol === 'udp') throw new Error('fork-pool hands over connections; UDP has none');
  const env = childEnv({ protocol: options.protocol, host: options.host, port: options.port, work: options.work });
  const children = new Set<ChildProcess>();
  /** Children that reported ready and are alive, in rotation order. */
  const ready: ChildProcess[] = [];
  const waiting: net.Socket[] = [];
  const restartTimers = new Set<NodeJS.Timeout>();
  const backoff = new RestartBackoff();
  let next = 0;
  let closing = false;
  let started = false;
  let restarts = 0;

  const hand = (socket: net.Socket): void => {
    if (socket.destroyed) return;
    const live = ready.filter((c) => c.connected && !hasExited(c));
    if (live.length === 0) {
      waiting.push(socket);
      return;
    }
    const child = live[next++ % live.length]!;
    child.send('socket', socket, { keepOpen: false }, (error) => {
      if (error) socket.destroy();
    });
  };

  const flushWaiting = (): void => {
    while (waiting.length > 0 && ready.length > 0) hand(waiting.shift()!);
  };

  const spawnChild = (): ChildProcess => {
    const child = fork(FORK_CHILD_ENTRY, ['pool'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const bornAt = Date.now();
    children.add(child);
    child.on('error', () => undefined); // a failed send or kill; 'exit' tells the rest
    child.once('exit', (code, signal) => {
      children.delete(child);
      const index = ready.indexOf(child);
      if (index >= 0) ready.splice(index, 1);
      if (closing || !started) return;
      const delay = backoff.next(Date.now() - bornAt);
      process.stderr.write(
        `fork-pool: child ${child.pid} died (code ${code}, signal ${signal}); replacing in ${delay} ms\n`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (closing) return;
        restarts++;
        const replacement = spawnChild();
        waitForReady(replacement, `fork-pool replacement child ${replacement.pid}`, readyTimeoutMs(1)).then(
          () => {
            if (closing || !replacement.connected) return;
            ready.push(replacement);
            flushWaiting();
          },
          (error: Error) => closing || process.stderr.write(`${error.message}\n`),
        );
      }, delay);
      restartTimers.add(timer);
    });
    return child;
  };

  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    if (closing) socket.destroy();
    else hand(socket);
  });
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));

  const close = async (): Promise<void> => {
    closing = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    if (server.listening) server.close();
    for (const socket of waiting.splice(0)) socket.destroy();
    await Promise.all([...children].map((c) => stopChild(c)));
    // server.close() waits for the sockets handed to children; their exits (IPC disconnect) settle that.
    if (started) await serverClosed;
  };

  let port: number;
  try {
    const initial = Array.from({ length: options.workers }, () => spawnChild());
    await Promise.all(initial.map((c) => waitForReady(c, `fork-pool child ${c.pid}`, readyTimeoutMs(options.workers))));
    ready.push(...initial);
    port = await listenOn(server, options.host, options.port);
    started = true;
  } catch (error) {
    await close();
    throw error;
  }

  return {
    port,
    workers: options.workers,
    details: { dispatch: 'round-robin', handoff: 'child.send(socket)', restartBackoffMs: '100..2000' },
    close: async () => {
      await close();
      if (restarts > 0) process.stderr.write(`fork-pool: ${restarts} child(ren) were replaced during the run\n`);
    },
  };
}
