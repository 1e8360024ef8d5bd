/**
 * Serves one TCP connection of the framed echo protocol: runs the handler once at the start of each frame, then
 * forwards the frame's bytes as they arrive. Nothing is buffered whole, so a 1 MiB frame streams through, and the
 * socket is paused while the peer is not reading (backpressure) or while asynchronous work is pending.
 */
import type { Socket } from 'node:net';
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from './protocol.js';
import { rateLimitedLog } from './rate-limited-log.js';
import { formatSize } from '../lib/format/units.js';

/** A peer announcing a frame over the limit is told nothing (the protocol has no error reply): the log says why. */
const logOversized = rateLimitedLog(1000);

/** Runs before a frame is echoed; a returned promise holds the connection until it settles. */
export type FrameHandler = () => void | Promise<void>;

export function serveEchoConnection(socket: Socket, handler: FrameHandler): void {
  const header = Buffer.alloc(HEADER_BYTES);
  let headerFilled = 0;
  let payloadRemaining = 0;
  let workDone = false;
  let waitingForWork = false;
  let waitingForDrain = false;
  let inputEnded = false;

  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('drain', () => {
    waitingForDrain = false;
    resumeIfFree();
  });
  // pause() stops 'data' events; the queue only guards a chunk that was already on its way.
  const queued: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => (waitingForWork ? queued.push(chunk) : consume(chunk, 0)));
  socket.on('end', () => {
    inputEnded = true;
    endIfDone();
  });

  function resumeIfFree(): void {
    if (!waitingForWork && !waitingForDrain && !socket.destroyed) socket.resume();
  }

  function endIfDone(): void {
    if (inputEnded && !waitingForWork && !socket.destroyed) socket.end();
  }

  function flush(chunk: Buffer, from: number, to: number): void {
    if (from < to && !socket.write(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to))) {
      waitingForDrain = true;
      socket.pause();
    }
  }

  function consume(chunk: Buffer, start: number): void {
    let pos = start;
    const segmentStart = start;
    while (pos < chunk.length) {
      if (payloadRemaining > 0) {
        const take = Math.min(payloadRemaining, chunk.length - pos);
        pos += take;
        payloadRemaining -= take;
        if (payloadRemaining === 0) workDone = false;
        continue;
      }
      if (!workDone) {
        workDone = true;
        const pending = handler();
        if (pending) {
          flush(chunk, segmentStart, pos);
          waitingForWork = true;
          socket.pause();
          const resumeAt = pos;
          pending.then(
            () => {
              waitingForWork = false;
              if (socket.destroyed) return;
              consume(chunk, resumeAt);
              while (!waitingForWork && queued.length > 0) consume(queued.shift()!, 0);
              resumeIfFree();
              endIfDone();
            },
            () => socket.destroy(),
          );
          return;
        }
      }
      header[headerFilled++] = chunk[pos++]!;
      if (headerFilled === HEADER_BYTES) {
        headerFilled = 0;
        payloadRemaining = header.readUInt32BE(0);
        if (payloadRemaining > MAX_PAYLOAD_BYTES) {
          logOversized(
            `closing the connection from ${socket.remoteAddress}:${socket.remotePort}: it announced a frame of ${payloadRemaining} bytes, over the ${formatSize(MAX_PAYLOAD_BYTES)} limit`,
          );
          socket.destroy();
          return;
        }
        if (payloadRemaining === 0) workDone = false;
      }
    }
    flush(chunk, segmentStart, pos);
  }
}
