/**
 * The flags every load CLI shares (target, connections, size, duration, warmup, rate, timeout, max-errors, json,
 * help), parsed and checked in one place, and the one way results leave a CLI (machine lines or a human table, then
 * the exit status).
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeInteger, nonNegativeNumber, UsageError } from '../lib/cli-args.js';
import { parseSize } from '../lib/format/units.js';
import { parseTarget } from './target.js';
import { PHASE_PREFIX, RESULT_PREFIX } from './line-protocol.js';
import { printResult } from './print-result.js';
import type { LoadResult } from './load-result.js';
import { loadExitStatus } from './exit-status.js';
import { watchParent } from '../lib/parent.js';
import { assertResolves } from '../lib/resolve.js';

export const COMMON_LOAD_FLAGS = {
  target: { type: 'string' },
  connections: { type: 'string' },
  size: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  rate: { type: 'string' },
  timeout: { type: 'string' },
  'max-errors': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

type FlagSpec = Record<string, { type: 'string' | 'boolean' }>;

export interface CommonLoad {
  target: string;
  host: string;
  port: number;
  connections: number;
  payloadBytes: number;
  durationSec: number;
  warmupSec: number;
  rate?: number;
  timeoutMs: number;
  /** Errors tolerated before the run counts as a failure (exit 1); a mismatch always fails. */
  maxErrors: number;
  json: boolean;
  onPhase?: (phase: 'measure' | 'done') => void;
}

/**
 * What every load CLI does before it loads: a target that does not resolve is bad usage (exit 2), and a client whose
 * orchestrator died (killed with SIGKILL, say) stops instead of loading the server on; a native driver it started
 * follows by PR_SET_PDEATHSIG.
 */
export async function prepareLoad(common: CommonLoad): Promise<void> {
  await assertResolves('target', common.host);
  watchParent(() => process.exit(1));
}

/** Parses the common flags plus `extra`; returns undefined after printing `usage` for --help. */
export function parseLoadArgs<E extends FlagSpec>(
  argv: string[],
  extra: E,
  usage: string,
  limits: { minSize?: number; maxSize: number; sizeNote?: string; defaultTimeoutMs: number },
): { common: CommonLoad; values: Record<string, string | boolean | undefined> } | undefined {
  const { values } = parseFlags(argv, { ...COMMON_LOAD_FLAGS, ...extra });
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(usage + '\n');
    return undefined;
  }
  if (typeof v.target !== 'string') throw new UsageError('--target HOST:PORT is required');
  const { host, port } = parseTarget(v.target);
  const sizeText = typeof v.size === 'string' ? v.size : undefined;
  const size = sizeText === undefined ? 64 : parseSize(sizeText);
  if (size === undefined || size < (limits.minSize ?? 0) || size > limits.maxSize) {
    throw new UsageError(`--size must be ${limits.sizeNote ?? `a byte count up to ${limits.maxSize}`} such as 64, 4k or 1MiB (got "${sizeText}")`);
  }
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const json = v.json === true;
  const rate = str('rate') === undefined ? undefined : positiveNumber('rate', str('rate'), 1);
  return {
    values: v,
    common: {
      target: v.target,
      host,
      port,
      connections: positiveInteger('connections', str('connections'), 50, 100_000),
      payloadBytes: size,
      durationSec: positiveNumber('duration', str('duration'), 5),
      warmupSec: nonNegativeNumber('warmup', str('warmup'), 1),
      ...(rate !== undefined ? { rate } : {}),
      timeoutMs: positiveNumber('timeout', str('timeout'), limits.defaultTimeoutMs),
      maxErrors: nonNegativeInteger('max-errors', str('max-errors'), 0),
      json,
      ...(json ? { onPhase: (phase: 'measure' | 'done') => process.stdout.write(`${PHASE_PREFIX}${phase}\n`) } : {}),
    },
  };
}

/** Prints the result (the orchestrator reads the CONBENCH_RESULT line whatever the exit code), then fails the
 * process with a one-line reason when the run verified nothing, mismatched, or went over the error budget. */
export function emitResult(common: CommonLoad, result: LoadResult): void {
  process.stdout.write(common.json ? RESULT_PREFIX + JSON.stringify(result) + '\n' : printResult(common.target, result));
  const status = loadExitStatus(result, common.maxErrors);
  if (status.code !== 0) {
    process.stderr.write(`error: ${common.target}: ${status.reason}\n`);
    process.exitCode = status.code;
  }
}
