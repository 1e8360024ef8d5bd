/**
 * The one rule every load client's exit code follows (and a native driver can reuse): a run that verified nothing,
 * saw a single mismatched echo, or counted more errors than the --max-errors budget is a measured failure (exit 1),
 * with a one-line reason; otherwise it succeeded (exit 0). Usage errors (exit 2) never get this far. Pure.
 */
import { totalErrors, type ErrorCounts, type LoadResult } from './load-result.js';

/** The load CLIs' exit codes, for their --help (the README says the same). */
export const EXIT_CODES_HELP = `Exit status: 0 when echoes were verified with no mismatch and at most --max-errors errors; 1 when nothing
was verified (nothing listening…), on any mismatch, or over the error budget (the result is still printed, and
with --json its CONBENCH_RESULT line comes first); 2 for bad usage (a bad flag, a target that does not resolve).`;

export interface ExitStatus {
  code: 0 | 1;
  /** Why the run failed, one line; absent on success. */
  reason?: string;
}

export function loadExitStatus(
  result: Pick<LoadResult, 'messages' | 'seconds' | 'errors' | 'firstError'>,
  maxErrors: number,
): ExitStatus {
  const errors = totalErrors(result.errors);
  const counts = errorSummary(result.errors);
  const first = result.firstError ? ` (first: ${result.firstError})` : '';
  // A wrong byte is the gravest finding (the server is broken, not slow): it leads whatever else happened.
  if (result.errors.mismatches > 0) {
    return {
      code: 1,
      reason: `${result.errors.mismatches} echo(es) differed from what was sent (${result.messages} verified; ${counts})`,
    };
  }
  if (result.messages === 0) {
    const why = errors > 0 ? counts + first : 'no answer from the server';
    return { code: 1, reason: `nothing verified in ${result.seconds.toFixed(2)} s: ${why}` };
  }
  if (errors > maxErrors) {
    return { code: 1, reason: `${errors} error(s) exceed --max-errors ${maxErrors}: ${counts}${first}` };
  }
  return { code: 0 };
}

/** "connectFailures 955, timeouts 3": the non-zero counters. */
export function errorSummary(errors: ErrorCounts): string {
  const parts = Object.entries(errors)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'no errors';
}
