/**
 * One thread of the worker-threads model. It opens the shared endpoint on the target the main thread gives it
 * (host:port for the first thread; the first thread's listening fd, or host:port with reusePort, for the others)
 * and owns every connection it accepts. It counts the frames it handled so the spread across threads can be checked.
 * It never closes its endpoint itself: the main thread terminates it, and the endpoint closes with the thread.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openEndpoint, type Endpoint, type ListenTarget } from '../endpoint.js';
import { localHandler, type ConnectionHandler } from '../handler.js';
import type { Protocol } from '../protocol.js';
import type { Work } from '../work.js';

export interface ThreadData {
  index: number;
  protocol: Protocol;
  work: Work;
  target: ListenTarget & { reusePort?: boolean };
  /** Report the listening socket's fd number so other threads can listen on it too. */
  findFd: boolean;
  /** One slot per thread: frames this thread handled (written by this thread only, read by the main thread). */
  frameCounts: Int32Array;
}

export type ThreadMessage =
  | { type: 'ready'; port: number; fd?: number }
  | { type: 'error'; message: string; code?: string };

/**
 * The fd of this process's socket listening on TCP `port`, found through /proc (Linux): the inode of the LISTEN
 * entry in /proc/net/tcp{,6} matched against the `socket:[inode]` links in /proc/self/fd. The endpoint does not
 * expose its net.Server, and this avoids reaching into Node internals (server._handle.fd) for the same number.
 */
export function findListeningFd(port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length > 9 && cols[1]!.endsWith(`:${portHex}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  const found: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) found.push(Number(name));
  }
  if (found.length !== 1)
    throw new Error(`expected one listening socket on port ${port} in this process, found ${found.length}`);
  return found[0]!;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('echo-thread runs as a worker thread only');
  const data = workerData as ThreadData;
  const counts = data.frameCounts;
  const slot = data.index;
  // Each thread counts the frames it serves (the model checks that every thread took connections).
  const inner = await localHandler(data.work);
  const handler: ConnectionHandler =
    inner.kind === 'echo'
      ? {
          kind: 'echo',
          beforeFrame: () => {
            counts[slot]!++;
            return inner.beforeFrame();
          },
        }
      : {
          kind: 'respond',
          respond: (request) => {
            counts[slot]!++;
            return inner.respond(request);
          },
        };
  let endpoint: Endpoint;
  try {
    endpoint = await openEndpoint(data.protocol, data.target, handler);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    port.postMessage({
      type: 'error',
      message: e.message,
      ...(e.code ? { code: e.code } : {}),
    } satisfies ThreadMessage);
    return;
  }
  let fd: number | undefined;
  if (data.findFd) {
    try {
      fd = findListeningFd(endpoint.port);
    } catch (error) {
      port.postMessage({ type: 'error', message: (error as Error).message } satisfies ThreadMessage);
      return;
    }
  }
  port.postMessage({ type: 'ready', port: endpoint.port, ...(fd === undefined ? {} : { fd }) } satisfies ThreadMessage);
}

void main();
