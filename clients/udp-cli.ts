/**
 * `node dist/clients/udp-cli.js --target HOST:PORT …`: UDP echo load with loss, duplicate and reorder counts and µs
 * latency. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import { helpText, integerOption } from '../lib/options.js';
import { runUdpLoad } from './udp.js';
import { UDP_MAX_PAYLOAD, UDP_TAG_BYTES } from '../servers/protocol.js';
import { commonLoadOptions, emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';

/** A datagram unanswered this long is lost: far above loopback's round trip, short enough for a 1 s window. */
const UDP_LOSS_TIMEOUT_MS = 1000;

const common = commonLoadOptions(
  { minSize: UDP_TAG_BYTES, maxSize: UDP_MAX_PAYLOAD, sizeNote: `${UDP_TAG_BYTES}–${UDP_MAX_PAYLOAD} bytes for UDP` },
  { default: UDP_LOSS_TIMEOUT_MS, help: 'unanswered this long = lost' },
);
const OPTIONS = {
  ...common,
  connections: { ...common.connections, help: 'flows, one socket each' },
  maxErrors: {
    ...common.maxErrors,
    help: 'errors (lost and duplicated datagrams included) tolerated before the run fails\n(any mismatch fails)',
  },
  inFlight: integerOption('in-flight', {
    min: 1,
    max: 10_000,
    meta: 'D',
    default: DEFAULTS.inFlight,
    help: 'datagrams outstanding per flow, closed loop',
  }),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: node dist/clients/udp-cli.js --target HOST:PORT [options]',
  'UDP echo load: each flow (socket) sends sequence-numbered datagrams and verifies the echoes.',
  [
    {
      options: [
        O.target,
        O.connections,
        O.inFlight,
        O.payloadBytes,
        O.rate,
        O.durationSec,
        O.warmupSec,
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
  emitResult(
    parsed.common,
    await runUdpLoad({ ...parsed.common, inFlight: parsed.values.inFlight, pattern: 'persistent' }),
  );
}

runCommand(main, { usage: USAGE });
