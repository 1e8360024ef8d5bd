import type { FrameHandler } from './tcp-echo.js';
import { runWork, spin, type Work } from './work.js';

/**
 * The regression gate's test knob (`serve --inject-cpu <µs>`, `bench --inject-cpu MODEL:µs`): extra busy work on
 * every message, in calibrated spin iterations, so `npm run gate:validate` can measure how often the gate catches
 * a known per-message slowdown. It travels in the environment, so every worker, child and thread of a model
 * inherits it; unset (the normal case) it costs nothing.
 */
export const INJECT_CPU_ENV = 'CONBENCH_INJECT_CPU_ITERATIONS';

export function injectedIterations(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[INJECT_CPU_ENV] ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The handler, preceded on every message by the injected overhead (if any). */
export function withInjectedOverhead(handler: FrameHandler, iterations = injectedIterations()): FrameHandler {
  if (iterations <= 0) return handler;
  return () => {
    spin(iterations);
    return handler();
  };
}

/** The per-frame handler running the work on the calling thread. */
export function localHandler(work: Work): FrameHandler {
  return withInjectedOverhead(work.kind === 'none' ? () => undefined : () => runWork(work));
}
