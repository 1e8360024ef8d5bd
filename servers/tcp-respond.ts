/**
 * Serves one TCP connection of the framed protocol with a request handler instead of the echo: each whole frame is a
 * request, the handler's answer goes back as one frame (4-byte length + response), in request order. Requests are
 * answered one at a time per connection (a pipelining client's next request waits, as in most servers), and reading
 * pauses while a response waits for the peer to read (backpressure). A handler that throws or rejects ends the
 * connection (the client sees it close) and says why on stderr, at most once a second.
 */
import type { Socket } from 'node:net';
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from './protocol.js';
import { rateLimitedLog } from './rate-limited-log.js';
import type { Respond } from './user-handler.js';

const logFailure = rateLimitedLog(1000);

export function serveRequestConnection(socket: Socket, respond: Respond): void {
  let buffered: Buffer = Buffer.alloc(0);
  let busy = false;
  let inputEnded = false;
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('drain', () => {
    if (!busy) socket.resume();
  });
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (!busy) void next();
  });
  socket.on('end', () => {
    inputEnded = true;
    if (!busy) socket.end();
  });

  /** Answers every whole request buffered, in order; the next waits while one is pending. */
  async function next(): Promise<void> {
    busy = true;
    while (buffered.length >= HEADER_BYTES && !socket.destroyed) {
      const size = buffered.readUInt32BE(0);
      if (size > MAX_PAYLOAD_BYTES) {
        logFailure(`a peer announced a ${size}-byte request, over the ${MAX_PAYLOAD_BYTES}-byte limit: closing it`);
        socket.destroy();
        return;
      }
      if (buffered.length < HEADER_BYTES + size) break;
      const request = buffered.subarray(HEADER_BYTES, HEADER_BYTES + size);
      buffered = buffered.subarray(HEADER_BYTES + size);
      let response: Buffer;
      try {
        const answer = respond(request);
        response = answer instanceof Promise ? await answer : answer;
      } catch (error) {
        logFailure(`the handler failed on a ${size}-byte request: ${(error as Error).message}; closing the connection`);
        socket.destroy();
        return;
      }
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      header.writeUInt32BE(response.length, 0);
      socket.cork();
      socket.write(header);
      const flowing = socket.write(response);
      socket.uncork();
      if (!flowing) socket.pause();
    }
    busy = false;
    if (inputEnded && !socket.destroyed) socket.end();
  }
}
