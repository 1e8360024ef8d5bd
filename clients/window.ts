/**
 * The measured window every client shares: run the discarded warmup, open the window (counters reset, recording
 * on, client CPU metered, the orchestrator told), close it after the duration, and report its exact length.
 */
import { performance } from 'node:perf_hooks';
import type { ClientUsage } from './load-result.js';
import { measureClientUsage } from './usage.js';

export interface WindowHooks {
  /** Reset counters and start recording. */
  open(): void;
  /** Stop recording (synchronously, so nothing slips in after the window). */
  close(): void;
}

export async function measureWindow(
  o: { warmupSec: number; durationSec: number; onPhase?: (phase: 'measure' | 'done') => void },
  hooks: WindowHooks,
): Promise<{ seconds: number; client: ClientUsage }> {
  await sleep(o.warmupSec * 1000);
  hooks.open();
  const usage = measureClientUsage();
  const start = performance.now();
  o.onPhase?.('measure');
  await sleep(o.durationSec * 1000);
  hooks.close();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, client: usage.finish() };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
