/**
 * Iterative: one connection is served to its end before the next is started; the others wait in accept order.
 * (server.maxConnections = 1 would drop them instead of making them wait.) Serves TCP and HTTP the same way: the
 * accepted socket is handed to the protocol's connection server only when its turn comes.
 */
import net from 'node:net';
import { localHandler } from '../handler.js';
import { handedSocketServer } from '../endpoint.js';
import { closeServer, listenOn, trackSockets } from '../listen.js';
import type { RunningServer, ModelStartOptions } from '../types.js';

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  if (options.protocol === 'udp') throw new Error('iterative serves tcp and http only');
  const serve = handedSocketServer(options.protocol, await localHandler(options.work));
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
      serve(next);
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
