/**
 * `npm run serve -- --model NAME [--port P] [--host H] [--work SPEC] …`: runs one model until SIGTERM/SIGINT.
 * Prints the ready line (see protocol.ts) only once the server can serve. The orchestrator starts models the same way.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { parseFlags, positiveInteger, portNumber, oneOf, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { formatReadyLine, PROTOCOLS } from './protocol.js';
import { findModel, MODELS } from './registry.js';
import { calibrateSpin, formatWork, parseWorkSpec, resolveWork } from './work.js';
import { nativeArgs } from './native/args.js';

const USAGE = `usage: npm run serve -- --model NAME [options]

Runs one concurrency model's echo server until SIGTERM or SIGINT.

  --model NAME        one of: ${MODELS.map((m) => m.name).join(', ')}
  --protocol P        tcp (default), http or udp
  --host H            address to listen on (default 127.0.0.1)
  --port P            port (default 0: a free one, printed in the ready line)
  --work SPEC         handler work per message: none (default), cpu:<µs>, block:<ms>, async:<ms>
  --workers N         workers/children/threads for parallel models (default: CPUs this process may use, ${os.availableParallelism()})
  --max-children N    fork-per-connection: children alive at once (default 32)
  --cpu-rate R        spin-loop iterations per µs for cpu work (default: calibrated at start)
  --help              this text

Prints "CONBENCH_READY {json}" on stdout when it can serve.`;

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    model: { type: 'string' },
    protocol: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    work: { type: 'string' },
    workers: { type: 'string' },
    'max-children': { type: 'string' },
    'cpu-rate': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.model === undefined) throw new UsageError('--model is required');
  const model = findModel(values.model);
  const protocol = oneOf('protocol', values.protocol, PROTOCOLS, 'tcp');
  if (!model.protocols.includes(protocol)) {
    const why = model.whyNot?.[protocol];
    throw new UsageError(`model ${model.name} does not serve ${protocol}${why ? `: ${why}` : ''} (it serves ${model.protocols.join(', ')})`);
  }
  const availability = model.available();
  if (!availability.ok) throw new UsageError(`model ${model.name} is unavailable: ${availability.reason}`);
  const host = values.host ?? '127.0.0.1';
  const port = portNumber('port', values.port, 0);
  const spec = parseWorkSpec(values.work ?? 'none');
  const workers = positiveInteger('workers', values.workers, os.availableParallelism(), 256);
  const maxChildren = positiveInteger('max-children', values['max-children'], 32, 4096);
  const cpuRate = values['cpu-rate'] === undefined ? undefined : positiveNumber('cpu-rate', values['cpu-rate'], 1);

  if (model.runtime === 'native') {
    await runNative(model.binary(), nativeArgs({ model: model.name, host, port, work: formatWork(spec) }));
    return;
  }

  const work = resolveWork(spec, () => cpuRate ?? calibrateSpin());
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
      details: { ...(work.kind === 'cpu' ? { cpuIterations: work.iterations } : {}), ...server.details },
    }) + '\n',
  );

  process.stderr.write(`${model.name} serving ${protocol} on ${host}:${server.port} with ${server.workers} worker(s), work ${formatWork(spec)}; SIGTERM or Ctrl-C stops it\n`);

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
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
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('its parent process exited');
  }, 500).unref();
}

/** The native server prints its own ready line; we pass signals through and exit with its status. */
function runNative(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && child.kill('SIGTERM'), 500).unref();
    process.on('SIGTERM', forward('SIGTERM'));
    process.on('SIGINT', forward('SIGINT'));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal ? 1 : 0);
      resolve();
    });
  });
}

runMain(main, USAGE);
