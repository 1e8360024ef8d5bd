/**
 * The options every load CLI shares (target, connections, size, duration, warmup, rate, timeout, max-errors, json,
 * help), described and checked in one place, and the one way results leave a CLI (machine lines or a human table,
 * then the exit status).
 */
import { UsageError } from '../lib/cli-args.js';
import { DEFAULTS } from '../lib/defaults.js';
import {
  customOption,
  integerOption,
  nonNegativeNumberOption,
  parseOptions,
  positiveNumberOption,
  switchOption,
  type OptionValues,
} from '../lib/options.js';
import { parseSize } from '../lib/format/units.js';
import { parseTarget } from './target.js';
import { PHASE_PREFIX, RESULT_PREFIX } from './line-protocol.js';
import { printResult } from './print-result.js';
import type { LoadResult } from './load-result.js';
import type { LoadParams } from './load-params.js';
import { loadExitStatus } from './exit-status.js';
import { watchParent } from '../lib/lifecycle.js';
import { assertResolves } from '../lib/resolve.js';

/** How the payload size is bounded for a protocol (UDP: a tag at least, a datagram at most). */
export interface SizeLimits {
  minSize?: number;
  maxSize: number;
  sizeNote: string;
}

/** The options every load CLI shares, described once; a CLI adds its own beside them. */
export function commonLoadOptions(
  limits: SizeLimits,
  timeout: { default: number; help: string } = {
    default: DEFAULTS.timeoutMs,
    help: 'a frame unanswered this long is a timeout',
  },
) {
  return {
    target: customOption('target', (t, f) => ({ text: t, ...parseTarget(t, f) }), {
      meta: 'HOST:PORT',
      help: 'server to load (required)',
    }),
    connections: integerOption('connections', {
      min: 1,
      max: 100_000,
      meta: 'N',
      default: DEFAULTS.connections,
      help: 'concurrent connections',
    }),
    payloadBytes: customOption(
      'size',
      (t, f) => {
        const size = parseSize(t);
        if (size === undefined || size < (limits.minSize ?? 0) || size > limits.maxSize)
          throw new UsageError(`--${f} must be ${limits.sizeNote} such as 64, 4k or 1MiB (got "${t}")`);
        return size;
      },
      { meta: 'S', default: DEFAULTS.payloadBytes, help: `payload bytes: ${limits.sizeNote}` },
    ),
    durationSec: positiveNumberOption('duration', {
      meta: 'SEC',
      default: DEFAULTS.loadDurationSec,
      help: 'measured window',
    }),
    warmupSec: nonNegativeNumberOption('warmup', {
      meta: 'SEC',
      default: DEFAULTS.loadWarmupSec,
      help: 'discarded warmup before it',
    }),
    rate: positiveNumberOption('rate', {
      meta: 'R',
      help: 'open loop: total messages/s at a constant rate; latency from the intended send time',
    }),
    timeoutMs: positiveNumberOption('timeout', { meta: 'MS', ...timeout }),
    seed: integerOption('seed', {
      min: 1,
      max: 2 ** 32 - 1,
      meta: 'S',
      help: "payload bytes from this seed (the native driver's generator): the same bytes every run",
    }),
    maxErrors: integerOption('max-errors', {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      meta: 'N',
      default: 0,
      help: 'errors tolerated before the run fails (any mismatch fails)',
    }),
    json: switchOption('json', 'machine output for the orchestrator'),
    help: switchOption('help', 'this text'),
  } as const;
}

/** The load parameters every CLI's common flags give, with what only a CLI has (its target text, error budget, output). */
export type CommonLoad = Omit<LoadParams, 'inFlight' | 'pattern' | 'readyConnections' | 'readyTimeoutSec'> & {
  target: string;
  /** Errors tolerated before the run counts as a failure (exit 1); a mismatch always fails. */
  maxErrors: number;
  json: boolean;
};

/**
 * What every load CLI does before it loads: a target that does not resolve is bad usage (exit 2), and a client whose
 * orchestrator died (killed with SIGKILL, say) stops instead of loading the server on; a native driver it started
 * follows by PR_SET_PDEATHSIG.
 */
export async function prepareLoad(common: CommonLoad): Promise<void> {
  await assertResolves('target', common.host);
  watchParent(() => process.exit(1));
}

type CommonTable = ReturnType<typeof commonLoadOptions>;

/** Parses argv against the common options plus a CLI's own; undefined after printing `usage` for --help. */
export function parseLoadArgs<O extends CommonTable>(
  argv: string[],
  table: O,
  usage: string,
): { common: CommonLoad; values: OptionValues<O> } | undefined {
  const { values } = parseOptions(argv, table);
  const v = values as OptionValues<CommonTable>;
  if (v.help) {
    process.stdout.write(usage + '\n');
    return undefined;
  }
  if (v.target === undefined) throw new UsageError('--target HOST:PORT is required');
  return {
    values,
    common: {
      target: v.target.text,
      host: v.target.host,
      port: v.target.port,
      connections: v.connections,
      payloadBytes: v.payloadBytes,
      durationSec: v.durationSec,
      warmupSec: v.warmupSec,
      ...(v.rate !== undefined ? { rate: v.rate } : {}),
      ...(v.seed !== undefined ? { seed: v.seed } : {}),
      timeoutMs: v.timeoutMs,
      maxErrors: v.maxErrors,
      json: v.json,
      ...(v.json ? { onPhase: (phase: 'measure' | 'done') => process.stdout.write(`${PHASE_PREFIX}${phase}\n`) } : {}),
    },
  };
}

/** Prints the result (the orchestrator reads the CONBENCH_RESULT line whatever the exit code), then fails the
 * process with a one-line reason when the run verified nothing, mismatched, or went over the error budget. */
export function emitResult(common: CommonLoad, result: LoadResult): void {
  process.stdout.write(
    common.json ? RESULT_PREFIX + JSON.stringify(result) + '\n' : printResult(common.target, result),
  );
  const status = loadExitStatus(result, common.maxErrors);
  if (status.code !== 0) {
    process.stderr.write(`error: ${common.target}: ${status.reason}\n`);
    process.exitCode = status.code;
  }
}
