/** UDP echo: each datagram is sent back to its sender, unchanged, after the handler work. */
import type { Socket as UdpSocket } from 'node:dgram';
import type { FrameHandler } from './tcp-echo.js';

export function serveUdpEcho(socket: UdpSocket, handler: FrameHandler): void {
  socket.on('message', (msg, peer) => {
    const reply = (): void => socket.send(msg, peer.port, peer.address);
    const pending = handler();
    if (pending) pending.then(reply, () => undefined);
    else reply();
  });
  // A send to a peer that went away can raise ICMP errors; the server keeps serving.
  socket.on('error', () => undefined);
}
