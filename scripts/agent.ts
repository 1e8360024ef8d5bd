/**
 * `npm run agent -- --host ADDR --port P --token-file F`: the serve agent (bench/host/agent.ts) on the server host, until
 * SIGINT/SIGTERM or its parent's death; then every server it started is stopped.
 */
import { UsageError } from '../lib/cli-args.js';
import { runCommand, watchParent } from '../lib/lifecycle.js';
import { helpText, parseOptions, portOption, switchOption, textOption } from '../lib/options.js';
import { startAgent } from '../bench/host/agent.js';
import { AGENT_LISTENING_PREFIX, MIN_TOKEN_CHARS, readTokenFile } from '../bench/host/agent-protocol.js';

const OPTIONS = {
  host: textOption('host', {
    meta: 'ADDR',
    help: 'address to listen on (required: no default, so it is never exposed by accident)',
  }),
  port: portOption('port', {
    meta: 'P',
    default: 0,
    help: 'port (0: a free one, printed as CONBENCH_AGENT {"host":…,"port":…})',
  }),
  tokenFile: textOption('token-file', {
    meta: 'F',
    help: `file holding the shared secret (at least ${MIN_TOKEN_CHARS} characters, e.g. openssl rand -hex 32 > F)`,
  }),
  help: switchOption('help', 'this text'),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: npm run agent -- --host ADDR --port P --token-file F',
  `Runs the serve agent on the server host: a bench elsewhere (npm run bench -- --agent ADDR:P --agent-token-file F)
starts and stops servers here, and has their CPU and RSS sampled here. Servers listen on ADDR too.`,
  [{ options: [O.host, O.port, O.tokenFile, O.help] }],
);

async function main(): Promise<void> {
  const { values } = parseOptions(process.argv.slice(2), OPTIONS);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.host === undefined) throw new UsageError('--host is required (the address benches reach this agent at)');
  if (values.port === undefined) throw new UsageError('--port is required (0 picks a free one)');
  if (values.tokenFile === undefined)
    throw new UsageError('--token-file is required: the agent never runs without a token');
  const { port } = values;
  const token = readTokenFile(values.tokenFile, 'token-file', MIN_TOKEN_CHARS);

  const agent = await startAgent({
    host: values.host,
    port,
    token,
    log: (line) => process.stderr.write(`agent: ${line}\n`),
  }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot listen on ${values.host}:${port}: ${error.code ?? error.message}`);
  });
  process.stdout.write(`${AGENT_LISTENING_PREFIX}${JSON.stringify(agent.address)}\n`);
  process.stderr.write(
    `agent: listening on ${agent.address.host}:${agent.address.port}; SIGTERM or Ctrl-C stops it and every server it started\n`,
  );

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`agent: stopping (${why})\n`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    void agent.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // `npm run agent` may exit on a signal without passing it on: an agent whose parent is gone stops by itself.
  watchParent(() => stop('its parent process exited'));
}

runCommand(main, { usage: USAGE, resident: true });
