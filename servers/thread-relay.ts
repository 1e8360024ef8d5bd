/**
 * The relay between a thread-per-connection thread and the main thread that owns its socket.
 *
 * Its messages, both ways over the thread's port:
 *   main → thread: Uint8Array (bytes the client sent), 'end' (the client sent FIN), 'close' (the socket is gone)
 *   thread → main: { type: 'ready' } once; Uint8Array (bytes for the client), 'end' (no more), 'destroy' (an error:
 *   reset the connection), 'pause' / 'resume' (this thread's input buffer is full / drained: backpressure)
 */
import type { MessagePort } from 'node:worker_threads';
import type { Protocol } from './protocol.js';
import type { Work } from './work.js';

export interface ConnectionThreadData {
  protocol: Protocol;
  work: Work;
  remoteAddress?: string;
  remotePort?: number;
}

export type ToThread = Uint8Array | 'end' | 'close';
export type FromThread = Uint8Array | 'end' | 'destroy' | 'pause' | 'resume' | { type: 'ready' };

/** Bytes sent over the port are copied into their own ArrayBuffer and transferred (a view of a larger buffer would
 * clone all of it). */
export function post(port: Pick<MessagePort, 'postMessage'>, bytes: Uint8Array): void {
  const copy = new Uint8Array(bytes);
  port.postMessage(copy, [copy.buffer]);
}
