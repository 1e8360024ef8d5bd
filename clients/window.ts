/**
 * The measured window every client shares: wait (bounded) until the connections the server should serve have each
 * had an answer, release the load (ready), run the discarded warmup, open the window (counters reset, recording on, client CPU metered,
 * the orchestrator told), close it after the duration, and report its exact length.
 */
import { performance } from 'node:perf_hooks';
import type { ClientUsage, Readiness } from './load-result.js';
import { measureClientUsage } from './usage.js';

/** Connections that must have had one answer before the window opens, and how long to wait for them. */
export interface ReadyGate {
  expected: number;
  timeoutSec: number;
  /** Connections answered at least once so far (warmup included). */
  count(): number;
}

export interface WindowHooks {
  /** Reset counters and start recording. */
  open(): void;
  /** Stop recording (synchronously, so nothing slips in after the window). */
  close(): void;
  /** Readiness reached (or its wait timed out): the full load may start. */
  ready?(): void;
}

export async function measureWindow(
  o: { warmupSec: number; durationSec: number; onPhase?: (phase: 'measure' | 'done') => void },
  hooks: WindowHooks,
  gate?: ReadyGate,
): Promise<{ seconds: number; client: ClientUsage; readiness?: Readiness }> {
  const readiness = gate && gate.expected > 0 ? await waitUntilReady(gate) : undefined;
  hooks.ready?.();
  await sleep(o.warmupSec * 1000);
  hooks.open();
  const usage = measureClientUsage();
  const start = performance.now();
  o.onPhase?.('measure');
  await sleep(o.durationSec * 1000);
  hooks.close();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, client: usage.finish(), ...(readiness ? { readiness } : {}) };
}

async function waitUntilReady(gate: ReadyGate): Promise<Readiness> {
  const from = performance.now();
  const deadline = from + gate.timeoutSec * 1000;
  while (gate.count() < gate.expected && performance.now() < deadline) await sleep(10);
  const ready = gate.count();
  return {
    expected: gate.expected,
    ready,
    waitedSec: (performance.now() - from) / 1000,
    timedOut: ready < gate.expected,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
