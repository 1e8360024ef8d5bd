/**
 * `node dist/clients/http-cli.js --target HOST:PORT [--driver autocannon|wrk] …`: HTTP echo load through autocannon
 * (programmatic API) or wrk. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, oneOf, runMain, UsageError } from '../bench/cli-args.js';
import { parseSize } from '../scripts/format/units.js';
import { parseTarget } from './target.js';
import { runAutocannonLoad } from './http-autocannon.js';
import { runWrkLoad, wrkAvailable } from './http-wrk.js';
import { PHASE_PREFIX, RESULT_PREFIX } from './line-protocol.js';
import { printResult } from './print-result.js';

const USAGE = `usage: node dist/clients/http-cli.js --target HOST:PORT [options]

HTTP echo load: POSTs bodies of --size bytes and verifies each echoed body (GET when --size 0).

  --target HOST:PORT   server (required)
  --driver D           autocannon (default) or wrk (if installed)
  --connections N      concurrent connections (default 50)
  --pipelining P       requests in flight per connection (default 1)
  --size S             body bytes (default 64; 0 = GET)
  --duration SEC       measured seconds (default 5)
  --warmup SEC         discarded warmup run first (default 1)
  --rate R             total requests/s (autocannon only)
  --threads T          wrk threads (default 1)
  --pattern P          persistent (default) or connect-per-request (autocannon only)
  --timeout MS         request timeout (default 5000)
  --json               machine output for the orchestrator`;

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    target: { type: 'string' },
    driver: { type: 'string' },
    connections: { type: 'string' },
    pipelining: { type: 'string' },
    size: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    threads: { type: 'string' },
    pattern: { type: 'string' },
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
  const driver = oneOf('driver', values.driver, ['autocannon', 'wrk'] as const, 'autocannon');
  const size = values.size === undefined ? 64 : parseSize(values.size);
  if (size === undefined || size > 64 * 1024 * 1024) throw new UsageError(`--size must be a byte count up to 64MiB (got "${values.size}")`);
  const rate = values.rate === undefined ? undefined : positiveNumber('rate', values.rate, 1);
  if (driver === 'wrk' && rate !== undefined) throw new UsageError('--rate is not supported with wrk (use wrk2 for a constant rate)');
  const pattern = oneOf('pattern', values.pattern, ['persistent', 'connect-per-request'] as const, 'persistent');
  if (driver === 'wrk' && pattern !== 'persistent') throw new UsageError('wrk keeps its connections open: --pattern connect-per-request needs autocannon');
  const json = values.json === true;
  const options = {
    host,
    port,
    connections: positiveInteger('connections', values.connections, 50, 100_000),
    pipelining: positiveInteger('pipelining', values.pipelining, 1, 1000),
    payloadBytes: size,
    durationSec: positiveNumber('duration', values.duration, 5),
    warmupSec: nonNegativeNumber('warmup', values.warmup, 1),
    timeoutMs: positiveNumber('timeout', values.timeout, 5000),
    ...(rate !== undefined ? { rate } : {}),
    ...(pattern === 'connect-per-request' ? { connectPerRequest: true } : {}),
    ...(json ? { onPhase: (phase: string) => process.stdout.write(`${PHASE_PREFIX}${phase}\n`) } : {}),
  };
  let result;
  if (driver === 'wrk') {
    const present = wrkAvailable();
    if (!present.ok) throw new UsageError(present.reason);
    result = await runWrkLoad({ ...options, threads: positiveInteger('threads', values.threads, 1, 64) });
  } else {
    result = await runAutocannonLoad(options);
  }
  if (json) process.stdout.write(RESULT_PREFIX + JSON.stringify(result) + '\n');
  else process.stdout.write(printResult(values.target, result));
}

runMain(main, USAGE);
