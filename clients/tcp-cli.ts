/**
 * `npm run load -- --target HOST:PORT [options]`: drives any server speaking the framed echo protocol (ours or
 * not) and prints throughput, µs latency percentiles, verification and the client's own CPU.
 * With --json it prints machine lines instead: "CONBENCH_PHASE measure|done" and "CONBENCH_RESULT {json}".
 */
import { positiveInteger, oneOf, runMain, UsageError } from '../lib/cli-args.js';
import { runTcpLoad, type ConnectionPattern } from './tcp.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { emitResult, parseLoadArgs } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';

const USAGE = `usage: npm run load -- --target HOST:PORT [options]

Drives a framed TCP echo server (4-byte big-endian length + payload, at most 64 MiB a frame: our servers close a
connection that announces more) and verifies every echoed byte.

  --target HOST:PORT   server to load (required)
  --connections N      concurrent connections (default 50)
  --in-flight D        frames in flight per connection, closed loop (default 1)
  --size S             payload bytes: 64, 4k, 64KiB, 1MiB … up to 64MiB (default 64)
  --duration SEC       measured window (default 5)
  --warmup SEC         discarded warmup before it (default 1)
  --pattern P          persistent (default) or connect-per-request
  --rate R             open loop: total frames/s at a constant rate; latency from the intended send time
  --timeout MS         a frame unanswered this long is a timeout (default 5000)
  --max-errors N       errors tolerated before the run fails (default 0; any mismatch fails)
  --json               machine output for the orchestrator
  --help               this text

${EXIT_CODES_HELP}`;

async function main(): Promise<void> {
  const parsed = parseLoadArgs(process.argv.slice(2), { 'in-flight': { type: 'string' }, pattern: { type: 'string' } }, USAGE, {
    maxSize: MAX_PAYLOAD_BYTES,
    sizeNote: 'a byte count up to 64MiB',
    defaultTimeoutMs: 5000,
  });
  if (!parsed) return;
  const { common, values } = parsed;
  const pattern = oneOf<ConnectionPattern>('pattern', values.pattern as string | undefined, ['persistent', 'connect-per-request'], 'persistent');
  if (common.rate !== undefined && pattern !== 'persistent') throw new UsageError('--rate applies to --pattern persistent only');
  const inFlight = positiveInteger('in-flight', values['in-flight'] as string | undefined, 1, 10_000);
  emitResult(common, await runTcpLoad({ ...common, inFlight, pattern }));
}

runMain(main, USAGE);
