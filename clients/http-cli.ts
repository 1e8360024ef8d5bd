/**
 * `node dist/clients/http-cli.js --target HOST:PORT [--driver autocannon|wrk] …`: HTTP echo load through autocannon
 * (programmatic API) or wrk. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { positiveInteger, oneOf, runMain, UsageError } from '../lib/cli-args.js';
import { runAutocannonLoad } from './http-autocannon.js';
import { runWrkLoad, wrkAvailable } from './http-wrk.js';
import { emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';

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
  --max-errors N       errors tolerated before the run fails (default 0; any mismatch fails)
  --json               machine output for the orchestrator
  --help               this text

${EXIT_CODES_HELP}`;

async function main(): Promise<void> {
  const extra = { driver: { type: 'string' }, pipelining: { type: 'string' }, threads: { type: 'string' }, pattern: { type: 'string' } } as const;
  const parsed = parseLoadArgs(process.argv.slice(2), extra, USAGE, { maxSize: MAX_PAYLOAD_BYTES, sizeNote: 'a byte count up to 64MiB', defaultTimeoutMs: 5000 });
  if (!parsed) return;
  await prepareLoad(parsed.common);
  const { common, values } = parsed;
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const driver = oneOf('driver', str('driver'), ['autocannon', 'wrk'] as const, 'autocannon');
  if (driver === 'wrk' && common.rate !== undefined) throw new UsageError('--rate is not supported with wrk (use wrk2 for a constant rate)');
  const pattern = oneOf('pattern', str('pattern'), ['persistent', 'connect-per-request'] as const, 'persistent');
  if (driver === 'wrk' && pattern !== 'persistent') throw new UsageError('wrk keeps its connections open: --pattern connect-per-request needs autocannon');
  const options = {
    ...common,
    pipelining: positiveInteger('pipelining', str('pipelining'), 1, 1000),
    ...(pattern === 'connect-per-request' ? { connectPerRequest: true } : {}),
  };
  if (driver === 'wrk') {
    const present = wrkAvailable();
    if (!present.ok) throw new UsageError(present.reason);
    emitResult(common, await runWrkLoad({ ...options, threads: positiveInteger('threads', str('threads'), 1, 64) }));
  } else {
    emitResult(common, await runAutocannonLoad(options));
  }
}

runMain(main, USAGE);
