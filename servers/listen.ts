import type { Server as NetServer } from 'node:net';
import type { Socket as UdpSocket } from 'node:dgram';

/** Listens and resolves with the bound port (port 0 picks a free one). */
export function listenOn(server: NetServer, host: string, port: number, reusePort = false): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // reusePort (SO_REUSEPORT) exists from Node 22.12; older Node ignores the unknown option.
    server.listen({ host, port, backlog: 4096, ...(reusePort ? { reusePort: true } : {}) }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('server has no TCP address'));
      else resolve(address.port);
    });
  });
}

export function bindUdp(socket: UdpSocket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port }, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

/** Closes a server and destroys connections still open, so close() cannot hang on an idle keep-alive peer. */
export function closeServer(server: NetServer, open: Set<{ destroy(): void }>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of open) socket.destroy();
  });
}

/** Tracks open sockets of a server so they can be destroyed at shutdown. */
export function trackSockets<T extends { once(event: 'close', fn: () => void): unknown; destroy(): void }>(
  open: Set<T>,
  socket: T,
): void {
  open.add(socket);
  socket.once('close', () => open.delete(socket));
}
