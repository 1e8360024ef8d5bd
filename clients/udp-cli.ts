/**
 * `node dist/clients/udp-cli.js --target HOST:PORT …`: UDP echo load with loss, duplicate and reorder counts and µs
 * latency. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, runMain, UsageError } from '../bench/cli-args.js';
import { parseSize } from '../scripts/format/units.js';
import { parseTarget } from './target.js';
import { runUdpLoad, UDP_MAX_PAYLOAD, UDP_TAG_BYTES } from './udp.js';
import { PHASE_PREFIX, RESULT_PREFIX } from './line-protocol.js';
import { printResult } from './print-result.js';

const USAGE = `usage: node dist/clients/udp-cli.js --target HOST:PORT [options]

UDP echo load: each flow (socket) sends sequence-numbered datagrams and verifies the echoes.

  --target HOST:PORT   server (required)
  --connections N      flows, one socket each (default 50)
  --in-flight D        datagrams outstanding per flow, closed loop (default 1)
  --size S             datagram bytes, ${UDP_TAG_BYTES}–${UDP_MAX_PAYLOAD} (default 64)
  --rate R             open loop: total datagrams/s
  --duration SEC       measured seconds (default 5)
  --warmup SEC         discarded warmup (default 1)
  --timeout MS         unanswered this long = lost (default 1000)
  --json               machine output for the orchestrator`;

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    target: { type: 'string' },
    connections: { type: 'string' },
    'in-flight': { type: 'string' },
    size: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
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
  const size = values.size === undefined ? 64 : parseSize(values.size);
  if (size === undefined || size < UDP_TAG_BYTES || size > UDP_MAX_PAYLOAD) {
    throw new UsageError(`--size must be ${UDP_TAG_BYTES}–${UDP_MAX_PAYLOAD} bytes for UDP (got "${values.size}")`);
  }
  const rate = values.rate === undefined ? undefined : positiveNumber('rate', values.rate, 1);
  const json = values.json === true;
  const result = await runUdpLoad({
    host,
    port,
    flows: positiveInteger('connections', values.connections, 50, 10_000),
    inFlight: positiveInteger('in-flight', values['in-flight'], 1, 10_000),
    payloadBytes: size,
    durationSec: positiveNumber('duration', values.duration, 5),
    warmupSec: nonNegativeNumber('warmup', values.warmup, 1),
    timeoutMs: positiveNumber('timeout', values.timeout, 1000),
    ...(rate !== undefined ? { rate } : {}),
    ...(json ? { onPhase: (phase: 'measure' | 'done') => process.stdout.write(`${PHASE_PREFIX}${phase}\n`) } : {}),
  });
  if (json) process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
  else process.stdout.write(printResult(values.target, result));
}

runMain(main, USAGE);
