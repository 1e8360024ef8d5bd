/**
 * Before anything runs, the user's handler is loaded here, in the bench's own process, and asked every request once:
 * the answers are what every driver then checks byte for byte (or by length, as the handler's `verify` says). A
 * handler that cannot load, throws, never answers, or (verify 'bytes') answers the same request two ways is found
 * now, with its module and the request named, instead of as a hang or a wall of mismatches.
 */
import path from 'node:path';
import { SetupError } from '../../lib/cli-args.js';
import { HandlerError, loadHandler, type VerifyMode } from '../../servers/user-handler.js';
import { generatedRequests, GENERATED_REQUESTS, readRequests } from '../data/requests.js';
import type { Workload } from '../data/workloads.js';
import { parseWorkSpec } from '../../servers/work.js';

/** How long one request may take in the check before the handler is called stuck. */
const ANSWER_TIMEOUT_MS = 5000;

/** How long the handler's cost is sampled for, after the check: the second half of the calls is timed (warm). */
const COST_SAMPLE_MS = 200;
const COST_MAX_CALLS = 4000;
/**
 * Requests asked at once while its cost is sampled, as a server with many connections would: one at a time, every
 * request of a waiting handler paid a whole wake-up (io-wait.mjs, a 2 ms timer: 49.7 CPU µs a request; served, 12).
 */
const COST_CONCURRENCY = 16;

/** A workload's requests and the answers the handler gives them. */
export interface HandlerRequests {
  module: string;
  verify: VerifyMode;
  pairs: { request: Buffer; response: Buffer }[];
  /** CPU µs this process spent per request (every thread: a thread pool's work counts), one request at a time. */
  cpuMicrosPerRequest: number;
}

/**
 * The handler's CPU per request, asked the requests in turn, COST_CONCURRENCY at once, for about COST_SAMPLE_MS: the
 * first half warms it up (the JIT, lazy pools), the second is timed with process.cpuUsage, which counts every thread
 * of the process (a thread pool's work, and V8's own compiler and GC threads: an over-estimate, on the safe side of
 * the split it decides).
 */
async function costPerRequest(respond: (r: Buffer) => Buffer | Promise<Buffer>, requests: readonly Buffer[]) {
  const started = performance.now();
  let calls = 0;
  let timedFrom: { calls: number; cpu: NodeJS.CpuUsage } | undefined;
  while (calls < COST_MAX_CALLS) {
    const batch = Array.from({ length: COST_CONCURRENCY }, (_, i) =>
      respond(Buffer.from(requests[(calls + i) % requests.length]!)),
    );
    await Promise.all(batch);
    calls += COST_CONCURRENCY;
    const elapsed = performance.now() - started;
    if (!timedFrom && (elapsed >= COST_SAMPLE_MS / 2 || calls >= COST_MAX_CALLS / 2))
      timedFrom = { calls, cpu: process.cpuUsage() };
    else if (timedFrom && elapsed >= COST_SAMPLE_MS) break;
  }
  if (!timedFrom || calls === timedFrom.calls) return 0;
  const used = process.cpuUsage(timedFrom.cpu);
  return (used.user + used.system) / (calls - timedFrom.calls);
}

function describe(request: Buffer): string {
  const text = request.subarray(0, 40).toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? `"${text}${request.length > 40 ? '…' : ''}"` : `${request.length} bytes`;
}

async function answer(
  respond: (r: Buffer) => Buffer | Promise<Buffer>,
  request: Buffer,
  i: number,
  count: number,
  module: string,
  timeoutMs: number,
): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SetupError(
            `the handler ${module} did not answer request ${i + 1} of ${count} (${describe(request)}) within ${timeoutMs / 1000} s`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(() => respond(request)), stuck]);
  } catch (error) {
    if (error instanceof SetupError) throw error;
    throw new SetupError(
      `the handler ${module} threw on request ${i + 1} of ${count} (${describe(request)}): ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The module a workload's work names, if it is a handler. */
export function handlerOf(w: Pick<Workload, 'work'>): string | undefined {
  const spec = parseWorkSpec(w.work);
  return spec.kind === 'handler' ? spec.module : undefined;
}

/**
 * Each handler workload's requests and their answers: from --requests, or generated at its payload size (one set per
 * size). Throws a SetupError (exit 2, nothing run) for a handler that fails the check.
 */
export async function checkHandler(
  workloads: readonly Workload[],
  o: { requestsFile?: string; seed?: number; answerTimeoutMs?: number },
): Promise<Map<Workload, HandlerRequests>> {
  const timeoutMs = o.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const out = new Map<Workload, HandlerRequests>();
  const given = o.requestsFile !== undefined ? readRequests(o.requestsFile) : undefined;
  const bySize = new Map<string, HandlerRequests>();
  for (const w of workloads) {
    const module = handlerOf(w);
    if (!module) continue;
    const key = `${module} ${given ? 'given' : w.payloadBytes}`;
    let plan = bySize.get(key);
    if (!plan) {
      let handler: Awaited<ReturnType<typeof loadHandler>>;
      try {
        handler = await loadHandler(module);
      } catch (error) {
        throw new SetupError(
          error instanceof HandlerError ? error.message : `the handler ${module}: ${(error as Error).message}`,
        );
      }
      const requests = given ?? generatedRequests(w.payloadBytes, Math.max(GENERATED_REQUESTS, w.inFlight + 1), o.seed);
      const pairs: HandlerRequests['pairs'] = [];
      for (const [i, request] of requests.entries()) {
        const response = await answer(
          handler.respond,
          Buffer.from(request),
          i,
          requests.length,
          path.basename(module),
          timeoutMs,
        );
        if (handler.verify === 'bytes') {
          const again = await answer(
            handler.respond,
            Buffer.from(request),
            i,
            requests.length,
            path.basename(module),
            timeoutMs,
          );
          if (!again.equals(response))
            throw new SetupError(
              `the handler ${module} answered request ${i + 1} (${describe(request)}) two ways: its answers are checked byte for byte unless it exports verify = 'length' or 'none'`,
            );
        }
        pairs.push({ request, response: Buffer.from(response) });
      }
      plan = {
        module,
        verify: handler.verify,
        pairs,
        cpuMicrosPerRequest: await costPerRequest(handler.respond, requests),
      };
      bySize.set(key, plan);
    }
    out.set(w, plan);
  }
  return out;
}
