/**
 * `node dist/clients/http-cli.js --target HOST:PORT [--driver autocannon|wrk] …`: HTTP echo load through autocannon
 * (programmatic API) or wrk. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import { choiceOption, helpText, integerOption } from '../lib/options.js';
import { runAutocannonLoad } from './http-autocannon.js';
import { runWrkLoad, wrkAvailable } from './http-wrk.js';
import { commonLoadOptions, emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { PATTERNS } from './tcp.js';

const common = commonLoadOptions(
  { maxSize: MAX_PAYLOAD_BYTES, sizeNote: 'a byte count up to 64MiB (0 = GET)' },
  { default: DEFAULTS.timeoutMs, help: 'request timeout' },
);
const OPTIONS = {
  ...common,
  rate: { ...common.rate, help: 'total requests/s (autocannon only)' },
  driver: choiceOption('driver', ['autocannon', 'wrk'] as const, {
    meta: 'D',
    default: 'autocannon',
    help: 'autocannon or wrk (if installed)',
  }),
  pipelining: integerOption('pipelining', {
    min: 1,
    max: 1000,
    meta: 'P',
    default: 1,
    help: 'requests in flight per connection',
  }),
  threads: integerOption('threads', { min: 1, max: 64, meta: 'T', default: 1, help: 'wrk threads' }),
  pattern: choiceOption('pattern', PATTERNS, {
    meta: 'P',
    default: 'persistent',
    help: 'persistent or connect-per-request (autocannon only)',
  }),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: node dist/clients/http-cli.js --target HOST:PORT [options]',
  'HTTP echo load: POSTs bodies of --size bytes and verifies each echoed body (GET when --size 0).',
  [
    {
      options: [
        O.target,
        O.driver,
        O.connections,
        O.pipelining,
        O.payloadBytes,
        O.durationSec,
        O.warmupSec,
        O.rate,
        O.threads,
        O.pattern,
        O.timeoutMs,
        O.seed,
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
  const { common: c, values: v } = parsed;
  if (v.driver === 'wrk' && c.rate !== undefined)
    throw new UsageError('--rate is not supported with wrk (use wrk2 for a constant rate)');
  if (v.driver === 'wrk' && v.pattern !== 'persistent')
    throw new UsageError('wrk keeps its connections open: --pattern connect-per-request needs autocannon');
  const options = { ...c, inFlight: v.pipelining, pattern: v.pattern };
  if (v.driver === 'wrk') {
    const present = wrkAvailable();
    if (!present.ok) throw new UsageError(present.reason);
    emitResult(c, await runWrkLoad({ ...options, threads: v.threads }));
  } else {
    emitResult(c, await runAutocannonLoad(options));
  }
}

runCommand(main, { usage: USAGE });
