/**
 * `npm run bench:micro [-- options]`: times the primitive costs behind the concurrency models with tinybench, on each
 * CPU set the suite gives its servers, prints them and writes results/micro/<run>/records.jsonl (results/micro/LATEST
 * names the newest run that measured something; `npm run bench` reads it for its cost model).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { list, UsageError } from '../../lib/cli-args.js';
import { runCommand, SIGNAL_EXIT, type StopSignal } from '../../lib/lifecycle.js';
import { beforeAnythingRuns } from '../../lib/files.js';
import { helpText, integerOption, parseOptions, repeatedOption, switchOption, textOption } from '../../lib/options.js';
import { captureEnvironment } from '../run/env.js';
import { cpuSplit } from '../run/pinning.js';
import { newSuiteId, ResultsDir } from '../data/records-file.js';
import { microNotes, microTable } from './format.js';
import { measurePrimitive } from './measure.js';
import { PRIMITIVES } from './primitives.js';
import { pinProcess } from './pin.js';
import { countCpus } from '../../lib/cpu-list.js';
import { microRoot, readMicroRecords, type MicroRecord } from '../data/micro-record.js';

const OPTIONS = {
  filter: textOption('filter', {
    meta: 'TEXT',
    help: 'only primitives whose id contains TEXT (comma-separated: any of them)',
  }),
  cpus: repeatedOption('cpus', {
    meta: 'LIST',
    help: 'run on this taskset CPU list; repeat for several sets; "all" runs unpinned\n(default: the suite\'s server CPUs, for separate and for shared pinning)',
  }),
  timeMs: integerOption('time', {
    min: 1,
    max: 60_000,
    meta: 'MS',
    default: 1000,
    help: 'tinybench time budget per primitive and CPU set',
  }),
  out: textOption('out', { meta: 'DIR', default: 'results', help: 'results root' }),
  list: switchOption('list', 'list the primitives and exit'),
  help: switchOption('help', 'this text'),
} as const;

const O = OPTIONS;
export const USAGE = helpText(
  'usage: npm run bench:micro [-- options]',
  `Times the primitive costs behind the concurrency models with tinybench — mean, p50, p99, samples, margin of
error and CPU time per operation — on each CPU set the suite gives its servers, prints them, and writes
results/micro/<run>/records.jsonl (results/micro/LATEST names the newest run; npm run bench reads it).`,
  [{ options: [O.filter, O.cpus, O.timeMs, O.out, O.list, O.help] }],
  'On a shared machine run it under the CPU lock: flock /tmp/conbench-cpu.lock npm run bench:micro',
);

/** The CPU sets the suite's servers get: separate pinning (server without the client's CPU) and shared. */
function defaultCpuSets(taskset: boolean): string[] {
  if (!taskset) return ['all'];
  const sets = (['separate', 'shared'] as const).map((mode) => cpuSplit(mode, true).server ?? 'all');
  return [...new Set(sets)];
}

function checkCpuSet(text: string): string {
  if (text === 'all') return text;
  const n = countCpus(text);
  const max = os.cpus().length - 1;
  const highest = Math.max(...text.split(/[,-]/).map(Number));
  if (!(n >= 1) || highest > max)
    throw new UsageError(`--cpus must be a CPU list such as 0, 0-1 or 0,2 with CPUs 0..${max}, or all (got "${text}")`);
  return text;
}

const abort = new AbortController();
function stopMicro(signal: StopSignal): void {
  abort.abort();
  process.exitCode = SIGNAL_EXIT[signal];
  process.stderr.write(
    `\n${signal}: stopping after the current operation; the records so far are kept (again to quit now)\n`,
  );
}

async function main(): Promise<void> {
  const { values } = parseOptions(process.argv.slice(2), OPTIONS);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.list) {
    process.stdout.write(PRIMITIVES.map((p) => `${p.id.padEnd(20)} ${p.title}: ${p.op}`).join('\n') + '\n');
    return;
  }
  const wanted = values.filter !== undefined ? list('filter', values.filter) : undefined;
  const primitives = wanted ? PRIMITIVES.filter((p) => wanted.some((w) => p.id.includes(w))) : PRIMITIVES;
  if (primitives.length === 0)
    throw new UsageError(
      `--filter ${values.filter} matches no primitive; known: ${PRIMITIVES.map((p) => p.id).join(', ')}`,
    );
  const { timeMs } = values;
  const env = captureEnvironment();
  const cpuSets = values.cpus ? values.cpus.map(checkCpuSet) : defaultCpuSets(env.taskset);
  if (!env.taskset && cpuSets.some((c) => c !== 'all'))
    throw new UsageError('--cpus needs taskset, which is not installed; use --cpus all');

  const root = microRoot(values.out);
  const previous = safePrevious(root);
  const runId = newSuiteId();
  const results = beforeAnythingRuns(() => new ResultsDir(root, runId, false));
  const err = process.stderr;
  err.write(
    `bench:micro: ${primitives.length} primitive(s) × CPU set(s) ${cpuSets.join(' and ')}, ${timeMs} ms each; records: ${results.recordsFile}\n`,
  );

  // Ctrl-C / SIGTERM stop after the running operation and keep what was measured (stopMicro); a second signal, or
  // an operation stuck past the grace, ends it with every process it started (lib/lifecycle.ts).
  const records: MicroRecord[] = [];
  for (const cpus of cpuSets) {
    if (abort.signal.aborted) break;
    const applied = env.taskset ? pinProcess(cpus) : 'unpinned';
    const ctx = {
      cpus,
      cpuCount: cpus === 'all' ? os.cpus().length : countCpus(cpus),
      // Where the suite puts its load client (the same CPU in either split).
      ...(env.taskset && cpus !== 'all' ? { clientCpus: cpuSplit('separate', true, os.cpus().length).client! } : {}),
    };
    err.write(`CPU set ${cpus}: this process and everything it starts run on CPUs ${applied}\n`);
    for (const p of primitives) {
      if (abort.signal.aborted) break;
      err.write(`  ${p.id} … `);
      const record = await measurePrimitive(p, ctx, {
        runId,
        env,
        timeMs,
        warmupMs: Math.min(250, timeMs),
        signal: abort.signal,
      });
      records.push(record);
      results.append(record);
      err.write(
        record.status === 'ok' ? `${record.latency!.samples} samples\n` : `${record.status}: ${record.reason}\n`,
      );
    }
  }

  const plain = !process.stdout.isTTY;
  const notes = microNotes(records, previous);
  process.stdout.write(`\n${microTable(records, plain)}\n${notes.map((n) => `${n}\n`).join('')}`);
  process.stdout.write(
    `CPU µs/op: CPU time of every process and thread involved per operation (warm-up excluded); ±mean: tinybench's 95% margin of error of the mean\n`,
  );
  // Only a whole run becomes the one the cost model reads.
  const complete = !abort.signal.aborted && records.some((r) => r.status === 'ok');
  if (complete) results.markLatest();
  err.write(
    `wrote ${path.relative(process.cwd(), results.recordsFile)}${complete ? ` (${path.join(root, 'LATEST')} → ${runId})` : abort.signal.aborted ? ' (interrupted: LATEST unchanged)' : ' (nothing measured: LATEST unchanged)'}\n`,
  );
  if (records.some((r) => r.status === 'errored') && process.exitCode === undefined) process.exitCode = 1;
}

/** The previous run, for the cpu: loop's drift; none (or an unreadable one) is not an error here. */
function safePrevious(root: string): MicroRecord[] {
  try {
    return readMicroRecords(root);
  } catch {
    return [];
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]))
  runCommand(main, { usage: USAGE, onStop: stopMicro, graceMs: 5000 });
