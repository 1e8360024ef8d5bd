/**
 * `npm run load -- --target HOST:PORT [options]`: drives any server speaking the framed echo protocol (ours or
 * not) with the native C driver (or, with --driver node, the Node client) and prints throughput, µs latency
 * percentiles, verification and the client's own CPU.
 * With --json it prints machine lines instead: "CONBENCH_PHASE measure|done" and "CONBENCH_RESULT {json}".
 */
import { positiveInteger, oneOf, runMain, UsageError, nonNegativeNumber } from '../lib/cli-args.js';
import { runTcpLoad, type ConnectionPattern, type TcpLoadOptions } from './tcp.js';
import { nativeDriverStatus, runNativeTcpLoad } from './native-tcp.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';

const USAGE = `usage: npm run load -- --target HOST:PORT [options]

Drives a framed TCP echo server (4-byte big-endian length + payload, at most 64 MiB a frame: our servers close a
connection that announces more) and verifies every echoed byte.

  --target HOST:PORT       server to load (required)
  --driver D               native (default when built: the C driver) or node (the Node client)
  --connections N          concurrent connections (default 50)
  --in-flight D            frames in flight per connection, closed loop (default 1)
  --size S                 payload bytes: 64, 4k, 64KiB, 1MiB … up to 64MiB (default 64)
  --duration SEC           measured window (default 5)
  --warmup SEC             discarded warmup before it (default 1)
  --pattern P              persistent (default) or connect-per-request
  --rate R                 open loop: total frames/s at a constant rate; latency from the intended send time
  --timeout MS             a frame unanswered this long is a timeout (default 5000)
  --ready-connections K    open the window only once K connections have had an echo (default 0: after warmup)
  --ready-timeout SEC      ... or once this long has passed after the warmup (default 30)
  --threads T              native driver: event-loop threads, one per CPU of its taskset (default 1)
  --max-errors N           errors tolerated before the run fails (default 0; any mismatch fails)
  --json                   machine output for the orchestrator
  --help                   this text

${EXIT_CODES_HELP}`;

async function main(): Promise<void> {
  const parsed = parseLoadArgs(
    process.argv.slice(2),
    {
      'in-flight': { type: 'string' },
      pattern: { type: 'string' },
      driver: { type: 'string' },
      threads: { type: 'string' },
      'ready-connections': { type: 'string' },
      'ready-timeout': { type: 'string' },
    },
    USAGE,
    { maxSize: MAX_PAYLOAD_BYTES, sizeNote: 'a byte count up to 64MiB', defaultTimeoutMs: 5000 },
  );
  if (!parsed) return;
  await prepareLoad(parsed.common);
  const { common, values } = parsed;
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const pattern = oneOf<ConnectionPattern>('pattern', str('pattern'), ['persistent', 'connect-per-request'], 'persistent');
  if (common.rate !== undefined && pattern !== 'persistent') throw new UsageError('--rate applies to --pattern persistent only');
  const native = nativeDriverStatus();
  const driver = oneOf('driver', str('driver'), ['native', 'node'], native.ok ? 'native' : 'node');
  if (driver === 'native' && !native.ok) throw new UsageError(`--driver native is unavailable: ${native.reason}`);
  if (driver === 'node' && str('threads') !== undefined) throw new UsageError('--threads applies to --driver native only');
  const readyText = str('ready-connections');
  const options: TcpLoadOptions = {
    ...common,
    inFlight: positiveInteger('in-flight', str('in-flight'), 1, 10_000),
    pattern,
    ...(readyText !== undefined ? { readyConnections: readyText === '0' ? 0 : positiveInteger('ready-connections', readyText, 0, 100_000) } : {}),
    readyTimeoutSec: nonNegativeNumber('ready-timeout', str('ready-timeout'), 30),
  };
  const result =
    driver === 'native'
      ? await runNativeTcpLoad({ ...options, threads: positiveInteger('threads', str('threads'), 1, 256) })
      : await runTcpLoad(options);
  emitResult(common, result);
}

runMain(main, USAGE);
