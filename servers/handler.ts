import type { FrameHandler } from './tcp-echo.js';
import { loadHandler, type Respond } from './user-handler.js';
import { runWork, spin, type Work } from './work.js';

/**
 * How a connection is served: the echo (each frame streamed back, `beforeFrame` run at its start: the built-in work),
 * or a request handler's answers (servers/tcp-respond.ts).
 */
export type ConnectionHandler = { kind: 'echo'; beforeFrame: FrameHandler } | { kind: 'respond'; respond: Respond };

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

/**
 * The handler with `extra` run before each message, echoed or answered: how a change a middleware would make (a
 * request id, a log line, a metric) is added to a model (the gate's patch fixtures do).
 */
export function beforeEachMessage(handler: ConnectionHandler, extra: () => void): ConnectionHandler {
  if (handler.kind === 'echo') {
    const inner = handler.beforeFrame;
    return {
      kind: 'echo',
      beforeFrame: () => {
        extra();
        return inner();
      },
    };
  }
  const respond = handler.respond;
  return {
    kind: 'respond',
    respond: (request) => {
      extra();
      return respond(request);
    },
  };
}

/** A respond function preceded on every request by the injected overhead (if any). */
function respondWithOverhead(respond: Respond, iterations = injectedIterations()): Respond {
  if (iterations <= 0) return respond;
  return (request) => {
    spin(iterations);
    return respond(request);
  };
}

/** How the calling thread serves connections for this work: its echo with the work, or the user's handler. */
export async function localHandler(work: Work): Promise<ConnectionHandler> {
  if (work.kind === 'handler')
    return { kind: 'respond', respond: respondWithOverhead((await loadHandler(work.module)).respond) };
  return {
    kind: 'echo',
    beforeFrame: withInjectedOverhead(work.kind === 'none' ? () => undefined : () => runWork(work)),
  };
}
