/**
 * The far side of the thread micro-benchmarks: reports ready as soon as it runs (new Worker() to first message), and
 * echoes every message on a MessagePort it is given (postMessage round trip). A minimal file on purpose: the thread
 * start measured is Node's, not the cost of loading our modules.
 */
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

if (!parentPort) throw new Error('this file runs as a worker thread');
const parent = parentPort;
parent.on('message', (message: { port?: MessagePort }) => {
  const port = message.port;
  if (port) port.on('message', (m: unknown) => port.postMessage(m));
});
parent.postMessage({ type: 'ready' });
