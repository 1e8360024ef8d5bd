/**
 * Shared by the models that run child processes (cluster, fork-pool, fork-per-connection): the readiness handshake,
 * the restart backoff and stopping a child for sure.
 */
import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';

/** What a child sends its parent over IPC. */
export type ChildMessage = { type: 'ready'; port?: number } | { type: 'error'; message: string };

export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'error';
}

/**
 * Start-up timeouts are multiplied by this: a server counted under valgrind starts its workers 30–100× slower
 * (bench/run/counts.ts sets it; unset, 1).
 */
export const START_TIMEOUT_SCALE_ENV = 'CONBENCH_START_TIMEOUT_SCALE';

export function startTimeoutMs(ms: number, env: NodeJS.ProcessEnv = process.env): number {
  const scale = Number(env[START_TIMEOUT_SCALE_ENV]);
  return Number.isFinite(scale) && scale >= 1 ? ms * scale : ms;
}

/** How long starting `count` workers may take before start() gives up (forking is ~100 ms a process here). */
export function readyTimeoutMs(count: number): number {
  return startTimeoutMs(10_000 + 250 * count);
}

/**
 * Resolves with the child's ready message; rejects if it reports an error, exits or stays silent too long.
 * Works for anything that emits message/exit/error the way a ChildProcess does (a worker_threads Worker too).
 */
export function waitForReady(child: EventEmitter, label: string, timeoutMs: number): Promise<{ port?: number }> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`${label} ${why}`));
    };
    const onMessage = (message: unknown): void => {
      if (!isChildMessage(message)) return;
      if (message.type === 'ready') {
        cleanup();
        resolve(message.port === undefined ? {} : { port: message.port });
      } else fail(`failed to start: ${message.message}`);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited before it was ready (code ${code}, signal ${signal})`);
    const onError = (error: Error): void => fail(`could not be started: ${error.message}`);
    const timer = setTimeout(() => fail(`did not report ready within ${timeoutMs} ms`), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

export const RESTART_MIN_MS = 100;
export const RESTART_MAX_MS = 2_000;
/** A child that lived this long before dying was healthy: its replacement starts at the shortest delay again. */
export const RESTART_STABLE_MS = 5_000;

/** 100 ms doubling to 2 s between replacements of children that keep dying. */
export class RestartBackoff {
  private delay = RESTART_MIN_MS;

  next(livedMs: number): number {
    if (livedMs >= RESTART_STABLE_MS) this.delay = RESTART_MIN_MS;
    const delay = this.delay;
    this.delay = Math.min(RESTART_MAX_MS, this.delay * 2);
    return delay;
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the child has exited (at once if it already has). */
export function stopChild(child: ChildProcess, graceMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.pid === undefined || hasExited(child)) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Message a child prints and sends when it cannot start, then exits with status 1. */
export function reportStartFailure(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  if (process.send) process.send({ type: 'error', message } satisfies ChildMessage, () => process.exit(1));
  else process.exit(1);
}
