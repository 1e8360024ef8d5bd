/**
 * The Piscina task of the piscina model: runs one frame's handler work on a pool thread. The work object arrives with
 * every task (already resolved in the main thread), so nothing is calibrated here.
 */
import { threadId } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { blockFor, runWork, type Work } from '../work.js';
import { loadHandler } from '../user-handler.js';

export default function runFrameWork(work: Work): void | Promise<void> {
  return runWork(work);
}

/** Start-up check: holds the thread briefly so concurrent calls land on different threads, and says which one ran. */
export function whichThread(holdMillis: number): number {
  blockFor(holdMillis);
  return threadId;
}

/**
 * A request for a user's handler: loaded once per pool thread (its setup() then), the request's bytes moved in, the
 * answer's moved back.
 */
export async function respond(task: { module: string; request: ArrayBuffer }): Promise<unknown> {
  const handler = await loadHandler(task.module);
  const answer = await handler.respond(Buffer.from(task.request));
  // Its own ArrayBuffer, exactly the answer's bytes, to be transferred (a Buffer may view a larger shared pool).
  const own =
    answer.byteOffset === 0 && answer.byteLength === answer.buffer.byteLength && answer.buffer instanceof ArrayBuffer
      ? answer.buffer
      : Uint8Array.prototype.slice.call(answer).buffer;
  return Piscina.move(own as ArrayBuffer);
}
