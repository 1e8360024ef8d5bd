/**
 * `npm run load -- --target HOST:PORT [options]`: drives any server speaking the framed echo protocol (ours or
 * not) and prints throughput, µs latency percentiles, verification and the client's own CPU.
 * With --json it prints machine lines instead: "CONBENCH_PHASE measure|done" and "CONBENCH_RESULT {json}".
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, oneOf, runMain, UsageError } from '../bench/cli-args.js';
import { runTcpLoad, type ConnectionPattern } from './tcp.js';
import { parseSize } from '../scripts/format/units.js';
import { parseTarget } from './target.js';
import { printResult } from './print-result.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { PHASE_PREFIX, RESULT_PREFIX } from './line-protocol.js';


const USAGE = `usage: npm run load -- --target HOST:PORT [options]

Drives a framed TCP echo server (4-byte big-endian length + payload) and verifies every echoed byte.

  --target HOST:PORT   server to load (required)
  --connections N      concurrent connections (default 50)
  --in-flight D        frames in flight per connection, closed loop (default 1)
  --size S             payload bytes: 64, 4k, 64KiB, 1MiB … (default 64)
  --duration SEC       measured window (default 5)
  --warmup SEC         discarded warmup before it (default 1)
  --pattern P          persistent (default) or connect-per-request
  --rate R             open loop: total frames/s at a constant rate; latency from the intended send time
  --timeout MS         a frame unanswered this long is a timeout (default 5000)
  --json               machine output for the orchestrator
  --help               this text`;

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    target: { type: 'string' },
    connections: { type: 'string' },
    'in-flight': { type: 'string' },
    size: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    pattern: { type: 'string' },
    rate: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.target === undefined) throw new UsageError('--target HOST:PORT is required');
  const { host, port } = parseTarget(values.target);
  const payloadBytes = values.size === undefined ? 64 : parseSize(values.size);
  if (payloadBytes === undefined || payloadBytes > MAX_PAYLOAD_BYTES) {
    throw new UsageError(`--size must be a byte count up to 64MiB such as 64, 4k or 1MiB (got "${values.size}")`);
  }
  const pattern = oneOf<ConnectionPattern>('pattern', values.pattern, ['persistent', 'connect-per-request'], 'persistent');
  const rate = values.rate === undefined ? undefined : positiveNumber('rate', values.rate, 1);
  if (rate !== undefined && pattern !== 'persistent') throw new UsageError('--rate applies to --pattern persistent only');
  const json = values.json === true;
  const result = await runTcpLoad({
    host,
    port,
    connections: positiveInteger('connections', values.connections, 50, 100_000),
    inFlight: positiveInteger('in-flight', values['in-flight'], 1, 10_000),
    payloadBytes,
    durationSec: positiveNumber('duration', values.duration, 5),
    warmupSec: nonNegativeNumber('warmup', values.warmup, 1),
    pattern,
    ...(rate !== undefined ? { rate } : {}),
    timeoutMs: positiveNumber('timeout', values.timeout, 5000),
    ...(json ? { onPhase: (phase: string) => process.stdout.write(`${PHASE_PREFIX}${phase}\n`) } : {}),
  });
  if (json) {
    process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
    return;
  }
  process.stdout.write(printResult(values.target, result));
}

runMain(main, USAGE);
