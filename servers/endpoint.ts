/**
 * Opens the echo endpoint of one protocol on the calling thread. Every model that serves connections itself
 * (event loop, cluster worker, thread, pool child) goes through here, so they all speak exactly the same protocol.
 */
import net from 'node:net';
import http from 'node:http';
import dgram from 'node:dgram';
import type { Protocol } from './protocol.js';
import { serveEchoConnection, type FrameHandler } from './tcp-echo.js';
import { serveRequestConnection } from './tcp-respond.js';
import type { ConnectionHandler } from './handler.js';
import { httpEchoListener } from './http-echo.js';
import { serveUdpEcho } from './udp-echo.js';
import { bindUdp, closeServer, listenOn, trackSockets } from './listen.js';

export type ListenTarget = { host: string; port: number; reusePort?: boolean } | { fd: number };

export interface Endpoint {
  port: number;
  close(): Promise<void>;
}

export async function openEndpoint(
  protocol: Protocol,
  target: ListenTarget,
  handler: ConnectionHandler,
): Promise<Endpoint> {
  const serveTcp = tcpServing(handler);
  switch (protocol) {
    case 'tcp': {
      const open = new Set<net.Socket>();
      const server = net.createServer({ allowHalfOpen: true }, (socket) => {
        trackSockets(open, socket);
        serveTcp(socket);
      });
      return listenStream(server, open, target);
    }
    case 'http': {
      const open = new Set<net.Socket>();
      const server = http.createServer({ keepAlive: true }, httpEchoListener(echoOnly(handler, 'HTTP')));
      server.on('connection', (socket: net.Socket) => trackSockets(open, socket));
      return listenStream(server, open, target);
    }
    case 'udp': {
      if ('fd' in target) throw new Error('a UDP endpoint cannot listen on an inherited fd');
      const socket = dgram.createSocket({
        type: target.host.includes(':') ? 'udp6' : 'udp4',
        ...(target.reusePort ? { reusePort: true } : {}),
      } as dgram.SocketOptions);
      serveUdpEcho(socket, echoOnly(handler, 'UDP'));
      const port = await bindUdp(socket, target.host, target.port);
      return { port, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
    }
  }
}

/** How a TCP connection is served: streamed back (the echo), or answered by a request handler. */
function tcpServing(handler: ConnectionHandler): (socket: net.Socket) => void {
  return handler.kind === 'echo'
    ? (socket) => serveEchoConnection(socket, handler.beforeFrame)
    : (socket) => serveRequestConnection(socket, handler.respond);
}

/** HTTP and UDP serve the echo only: no driver of theirs verifies a handler's answers (the bench excludes them). */
function echoOnly(handler: ConnectionHandler, protocol: string): FrameHandler {
  if (handler.kind !== 'echo') throw new Error(`a request handler is served over framed TCP only, not ${protocol}`);
  return handler.beforeFrame;
}

async function listenStream(server: net.Server, open: Set<net.Socket>, target: ListenTarget): Promise<Endpoint> {
  const port =
    'fd' in target
      ? await listenFd(server, target.fd)
      : await listenOn(server, target.host, target.port, target.reusePort === true);
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

/**
 * Serves sockets accepted elsewhere (handed over by a parent process or taken from a queue) in the given protocol.
 * Returns the function to call with each socket.
 */
export function handedSocketServer(protocol: Protocol, handler: ConnectionHandler): (socket: net.Socket) => void {
  switch (protocol) {
    case 'tcp':
      return tcpServing(handler);
    case 'http': {
      const server = http.createServer({ keepAlive: true }, httpEchoListener(echoOnly(handler, 'HTTP')));
      return (socket) => {
        server.emit('connection', socket);
        socket.resume();
      };
    }
    case 'udp':
      throw new Error('UDP has no connections to hand over');
  }
}
