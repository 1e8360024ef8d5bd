/**
 * Opens the echo endpoint of one protocol on the calling thread. Every model that serves connections itself
 * (event loop, cluster worker, thread, pool child) goes through here, so they all speak exactly the same protocol.
 */
import net from 'node:net';
import type { Protocol } from './protocol.js';
import { serveEchoConnection, type FrameHandler } from './tcp-echo.js';
import { closeServer, listenOn, trackSockets } from './listen.js';

export type ListenTarget = { host: string; port: number } | { fd: number };

export interface Endpoint {
  port: number;
  close(): Promise<void>;
}

export async function openEndpoint(protocol: Protocol, target: ListenTarget, handler: FrameHandler): Promise<Endpoint> {
  switch (protocol) {
    case 'tcp':
      return openTcp(target, handler);
    default:
      throw new Error(`protocol ${protocol} is not served by this endpoint`);
  }
}

async function openTcp(target: ListenTarget, handler: FrameHandler): Promise<Endpoint> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    trackSockets(open, socket);
    serveEchoConnection(socket, handler);
  });
  const port = 'fd' in target ? await listenFd(server, target.fd) : await listenOn(server, target.host, target.port);
  return { port, close: () => closeServer(server, open) };
}

function listenFd(server: net.Server, fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(address !== null && typeof address === 'object' ? address.port : 0);
    });
  });
}

/** Makes a server serve sockets handed to it (by a parent process or a queue) rather than ones it accepts. */
export function serveHandedSocket(socket: net.Socket, handler: FrameHandler): void {
  serveEchoConnection(socket, handler);
}
