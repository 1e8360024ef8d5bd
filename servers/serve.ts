/**
 * `npm run serve -- --model NAME [--port P] [--host H] [--work SPEC] …`: runs one model until SIGTERM/SIGINT.
 * Prints the ready line (see protocol.ts) only once the server can serve. The orchestrator starts models the same way.
 */
import { spawn } from 'node:child_process';
import { runCommand } from '../lib/lifecycle.js';
import { helpText, parseOptions } from '../lib/options.js';
import { formatReadyLine } from './protocol.js';
import { calibrateSpin, formatWork, resolveWork } from './work.js';
import { SERVE_OPTIONS, serveOptions } from './serve-options.js';
import { nativeArgs, nativeEnv } from './native/args.js';
import { INJECT_CPU_ENV } from './handler.js';
import { watchParent } from '../lib/lifecycle.js';
import { assertResolves } from '../lib/resolve.js';

/** How long a stop may take before the process gives up on it (models stop their children within 2 s each). */
const STOP_TIMEOUT_MS = 10_000;

const O = SERVE_OPTIONS;
const USAGE = helpText(
  'usage: npm run serve -- --model NAME [options]',
  "Runs one concurrency model's echo server until SIGTERM or SIGINT.",
  [
    {
      options: [
        O.model,
        O.protocol,
        O.host,
        O.port,
        O.work,
        O.workers,
        O.maxChildren,
        O.cpuRate,
        O.injectMicros,
        O.help,
      ],
    },
  ],
  `TCP frames are a 4-byte big-endian length and the payload, at most 64 MiB: a connection announcing a larger frame
is closed and logged on stderr (one line, at most once a second).
Prints "CONBENCH_READY {json}" on stdout when it can serve. Exit status: 0 after a clean stop, 1 on a failure,
2 for bad usage (unknown model, bad flag, a host that does not resolve).`,
);

async function main(): Promise<void> {
  const { values } = parseOptions(process.argv.slice(2), SERVE_OPTIONS);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const { model, protocol, host, port, work: spec, workers, maxChildren, cpuRate, injectMicros } = serveOptions(values);

  if (model.runtime === 'native') {
    await runNative(model.binary(), nativeArgs({ model: model.name, host, port, work: formatWork(spec) }));
    return;
  }

  await assertResolves('host', host);
  let rate = cpuRate;
  const spinRate = (): number => (rate ??= calibrateSpin());
  const work = resolveWork(spec, spinRate);
  // Set before the model starts, so its workers, children and threads inherit it.
  if (injectMicros !== undefined)
    process.env[INJECT_CPU_ENV] = String(Math.max(1, Math.round(injectMicros * spinRate())));
  const module = await model.load();
  const server = await module.start({ model: model.name, protocol, host, port, work, workers, maxChildren });
  process.stdout.write(
    formatReadyLine({
      model: model.name,
      protocol,
      host,
      port: server.port,
      pid: process.pid,
      workers: server.workers,
      work: formatWork(spec),
      details: {
        ...(work.kind === 'cpu' ? { cpuIterations: work.iterations } : {}),
        ...(injectMicros !== undefined
          ? { injectCpuMicros: injectMicros, injectCpuIterations: Number(process.env[INJECT_CPU_ENV]) }
          : {}),
        ...server.details,
      },
    }) + '\n',
  );

  process.stderr.write(
    `${model.name} serving ${protocol} on ${host}:${server.port} with ${server.workers} worker(s), work ${formatWork(spec)}; SIGTERM or Ctrl-C stops it\n`,
  );

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    // Not unref'd: a close() that never settles must end in this error, not in a silent exit 0 once the event loop
    // runs dry (which is how fork-per-connection used to lose its "stopped" line).
    setTimeout(() => {
      process.stderr.write(
        `error: ${model.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s (${why}); exiting anyway\n`,
      );
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    server.close().then(
      () => {
        process.stderr.write(`${model.name} stopped (${why})\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // `npm run serve` may exit on SIGTERM without passing it on: a server whose parent is gone stops by itself
  // rather than running on as an orphan with its workers.
  watchParent(() => stop('its parent process exited'));
}

/** The native server prints its own ready line; we pass signals through and exit with its status. */
function runNative(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit', env: { ...process.env, ...nativeEnv() } });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    watchParent(() => child.kill('SIGTERM'));
    process.on('SIGTERM', forward('SIGTERM'));
    process.on('SIGINT', forward('SIGINT'));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal ? 1 : 0);
      resolve();
    });
  });
}

runCommand(main, { usage: USAGE, resident: true });
