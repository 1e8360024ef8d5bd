/**
 * `node dist/clients/udp-cli.js --target HOST:PORT …`: UDP echo load with loss, duplicate and reorder counts and µs
 * latency. With --json it prints the CONBENCH_* lines for the orchestrator.
 */
import { positiveInteger, runMain } from '../lib/cli-args.js';
import { runUdpLoad } from './udp.js';
import { UDP_MAX_PAYLOAD, UDP_TAG_BYTES } from '../servers/protocol.js';
import { emitResult, parseLoadArgs, prepareLoad } from './load-args.js';
import { EXIT_CODES_HELP } from './exit-status.js';

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
  --max-errors N       errors (lost and duplicated datagrams included) tolerated before the run fails (default 0;
                       any mismatch fails)
  --json               machine output for the orchestrator
  --help               this text

${EXIT_CODES_HELP}`;

async function main(): Promise<void> {
  const parsed = parseLoadArgs(process.argv.slice(2), { 'in-flight': { type: 'string' } }, USAGE, {
    minSize: UDP_TAG_BYTES,
    maxSize: UDP_MAX_PAYLOAD,
    sizeNote: `${UDP_TAG_BYTES}–${UDP_MAX_PAYLOAD} bytes for UDP`,
    defaultTimeoutMs: 1000,
  });
  if (!parsed) return;
  await prepareLoad(parsed.common);
  const { common, values } = parsed;
  const inFlight = positiveInteger('in-flight', values['in-flight'] as string | undefined, 1, 10_000);
  emitResult(common, await runUdpLoad({ ...common, flows: common.connections, inFlight }));
}

runMain(main, USAGE);
