/**
 * `npm run load -- --target HOST:PORT [options]`: drives any server speaking the framed echo protocol (ours or
 * not) with the native C driver (or, with --driver node, the Node client) and prints throughput, µs latency
 * percentiles, verification and the client's own CPU.
 * With --json it prints machine lines instead: "CONBENCH_PHASE measure|done" and "CONBENCH_RESULT {json}".
 * With --requests FILE it sends the file's requests and verifies each response instead (clients/requests-file.ts).
 */
import path from 'node:path';
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import { choiceOption, helpText, integerOption, nonNegativeNumberOption, textOption } from '../lib/options.js';
import { PATTERNS, runTcpLoad, type TcpLoadOptions } from './tcp.js';
import { nativeDriverStatus, runNativeTcpLoad } from './native-tcp.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { commonLoadOptions, emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';
import { readRequestsFile, VERIFY_MODES, type RequestSet } from './requests-file.js';

const OPTIONS = {
  ...commonLoadOptions({ maxSize: MAX_PAYLOAD_BYTES, sizeNote: 'a byte count up to 64MiB' }),
  driver: choiceOption('driver', ['native', 'node'] as const, {
    meta: 'D',
    help: 'native (the C driver) or node (the Node client)',
    defaultText: 'native when built, else node',
  }),
  inFlight: integerOption('in-flight', {
    min: 1,
    max: 10_000,
    meta: 'D',
    default: DEFAULTS.inFlight,
    help: 'frames in flight per connection, closed loop',
  }),
  pattern: choiceOption('pattern', PATTERNS, {
    meta: 'P',
    default: 'persistent',
    help: 'persistent or connect-per-request',
  }),
  readyConnections: integerOption('ready-connections', {
    min: 0,
    max: 100_000,
    meta: 'K',
    default: 0,
    help: 'warm up and measure only once K connections have had an echo; until then each sends its first frames only (0: at once)',
  }),
  readyTimeoutSec: nonNegativeNumberOption('ready-timeout', {
    meta: 'SEC',
    default: DEFAULTS.readyTimeoutSec,
    help: '... or once this long has passed, whichever comes first',
  }),
  threads: integerOption('threads', {
    min: 1,
    max: 256,
    meta: 'T',
    help: 'native driver: event-loop threads, one per CPU of its taskset',
    defaultText: '1',
  }),
  requests: textOption('requests', {
    meta: 'FILE',
    help: 'request/response mode (a handler that does not echo): send the requests of FILE and verify\neach response (a frame, in request order); frame j of connection c is request (c + j) mod K;\n--size is ignored. FILE: "CBREQ01\\n", u32 K, then K times u32 reqLen, request, u32 respLen,\nexpected response (big-endian; clients/requests-file.ts)',
  }),
  verify: choiceOption('verify', VERIFY_MODES, {
    meta: 'V',
    help: 'with --requests, what a response must match: bytes (the expected response exactly),\nlength (its length only) or none (any frame)',
    defaultText: 'bytes',
  }),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: npm run load -- --target HOST:PORT [options]',
  "Drives a framed TCP echo server (4-byte big-endian length + payload, at most 64 MiB a frame: our servers close a\nconnection that announces more) and verifies every echoed byte; with --requests, a server answering the file's\nrequests, each response checked against the file.",
  [
    {
      options: [
        O.target,
        O.driver,
        O.connections,
        O.inFlight,
        O.payloadBytes,
        O.durationSec,
        O.warmupSec,
        O.pattern,
        O.rate,
        O.timeoutMs,
        O.seed,
        O.readyConnections,
        O.readyTimeoutSec,
        O.threads,
        O.requests,
        O.verify,
        O.maxErrors,
        O.json,
        O.help,
      ],
    },
  ],
  EXIT_CODES_HELP,
);

async function main(): Promise<void> {
  const parsed = parseLoadArgs(process.argv.slice(2), OPTIONS, USAGE);
  if (!parsed) return;
  await prepareLoad(parsed.common);
  const { common, values: v } = parsed;
  if (common.rate !== undefined && v.pattern !== 'persistent')
    throw new UsageError('--rate applies to --pattern persistent only');
  const native = nativeDriverStatus();
  const driver = v.driver ?? (native.ok ? 'native' : 'node');
  if (driver === 'native' && !native.ok) throw new UsageError(`--driver native is unavailable: ${native.reason}`);
  if (driver === 'node' && v.threads !== undefined) throw new UsageError('--threads applies to --driver native only');
  if (v.verify !== undefined && v.requests === undefined) throw new UsageError('--verify applies to --requests only');
  let requests: RequestSet | undefined;
  if (v.requests !== undefined) {
    // Read (and checked) here whichever driver runs: a bad file is bad usage before anything is loaded.
    const file = path.resolve(v.requests);
    try {
      requests = { pairs: readRequestsFile(file), verify: v.verify ?? 'bytes', file };
    } catch (error) {
      throw new UsageError(`--requests: ${(error as Error).message}`);
    }
  }
  const options: TcpLoadOptions = {
    ...common,
    inFlight: v.inFlight,
    pattern: v.pattern,
    ...(v.readyConnections > 0 ? { readyConnections: v.readyConnections } : {}),
    readyTimeoutSec: v.readyTimeoutSec,
    ...(requests ? { requests } : {}),
  };
  const result =
    driver === 'native' ? await runNativeTcpLoad({ ...options, threads: v.threads ?? 1 }) : await runTcpLoad(options);
  emitResult(common, result);
}

runCommand(main, { usage: USAGE });
