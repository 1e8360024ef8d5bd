/**
 * A micro child process (entries/child.ts) seen from the benchmark: started with fork, ready-checked, asked for its CPU
 * time, sent one message at a time with the reply awaited, and stopped for sure. A child that exits fails the
 * operation waiting on it instead of hanging the run.
 */
import { fork, type ChildProcess, type Serializable, type SendHandle } from 'node:child_process';
import { compiled } from '../../lib/paths.js';
import { hasExited, stopChild, waitForReady } from '../../servers/models/supervise.js';
import { CPU_QUERY, isCpuAnswer, type Role } from './child-protocol.js';
import { track } from '../../lib/lifecycle.js';

export const MICRO_CHILD_ENTRY = compiled('bench/micro/entries/child.ts');

export interface MicroChild {
  child: ChildProcess;
  /** The port an echo-server child listens on. */
  port?: number;
  /** Sends a message (and a handle) and resolves with the child's next answer. One at a time. */
  request(message: Serializable, handle?: SendHandle): Promise<unknown>;
  cpuUs(): Promise<number>;
  close(): Promise<void>;
}

export async function startMicroChild(
  role: Role,
  args: string[] = [],
  serialization: 'json' | 'advanced' = 'json',
): Promise<MicroChild> {
  const child = track(
    fork(MICRO_CHILD_ENTRY, [role, ...args], { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  child.on('error', () => undefined); // a send to a child that is going away; 'exit' settles what waits
  let ready: { port?: number };
  try {
    ready = await waitForReady(child, `micro child (${role})`, 10_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  let pending: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  let cpuPending: ((us: number) => void) | undefined;
  child.on('message', (message: unknown) => {
    if (isCpuAnswer(message)) {
      cpuPending?.(message.us);
      cpuPending = undefined;
      return;
    }
    const p = pending;
    pending = undefined;
    p?.resolve(message);
  });
  child.once('exit', (code, signal) => {
    pending?.reject(new Error(`micro child (${role}) exited (code ${code}, signal ${signal})`));
    pending = undefined;
    cpuPending?.(NaN);
    cpuPending = undefined;
  });
  return {
    child,
    ...(ready.port !== undefined ? { port: ready.port } : {}),
    request: (message, handle) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        child.send(message, handle, { keepOpen: true });
      }),
    cpuUs: () =>
      new Promise((resolve) => {
        if (hasExited(child)) return resolve(NaN);
        cpuPending = resolve;
        child.send(CPU_QUERY);
      }),
    close: () => stopChild(child),
  };
}
