/**
 * Iterative: one connection is served to its end before the next is started; the others wait in the accept queue
 * order. (server.maxConnections = 1 would drop them instead of making them wait.)
 */
import net from 'node:net';
import { localHandler } from '../handler.js';
import { closeServer, listenOn, trackSockets } from '../listen.js';
import { serveEchoConnection } from '../tcp-echo.js';
import type { RunningServer, ServerOptions } from '../types.js';

export async function start(options: ServerOptions): Promise<RunningServer> {
  if (options.protocol !== 'tcp') throw new Error(`iterative serves tcp only (got ${options.protocol})`);
  const handler = localHandler(options.work);
  const open = new Set<net.Socket>();
  const waiting: net.Socket[] = [];
  let serving: net.Socket | undefined;

  const serveNext = (): void => {
    serving = undefined;
    while (waiting.length > 0) {
      const next = waiting.shift()!;
      if (next.destroyed) continue;
      serving = next;
      next.once('close', serveNext);
      serveEchoConnection(next, handler);
      next.resume();
      return;
    }
  };

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    trackSockets(open, socket);
    socket.on('error', () => socket.destroy());
    waiting.push(socket);
    if (serving === undefined) serveNext();
  });
  const port = await listenOn(server, options.host, options.port);
  return { port, workers: 1, close: () => closeServer(server, open) };
}
