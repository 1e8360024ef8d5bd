/**
 * The Piscina task of the piscina model: runs one frame's handler work on a pool thread. The work object arrives with
 * every task (already resolved in the main thread), so nothing is calibrated here.
 */
import { threadId } from 'node:worker_threads';
import { blockFor, runWork, type Work } from '../work.js';

export default function runFrameWork(work: Work): void | Promise<void> {
  return runWork(work);
}

/** Start-up check: holds the thread briefly so concurrent calls land on different threads, and says which one ran. */
export function whichThread(holdMillis: number): number {
  blockFor(holdMillis);
  return threadId;
}
