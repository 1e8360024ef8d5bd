/**
 * `npm run gate:validate [-- options]`: measures the regression gate's error rates on this machine instead of
 * assuming them. Each trial records a fresh baseline, then runs the same suite twice against it:
 *   - A/A: the same code. A failing gate is a false alarm.
 *   - A/B: one model with an injected per-message overhead (serve --inject-cpu) worth --inject-percent of its CPU
 *     cost per message in the first baseline. The gate catching it on that model is a detection.
 * It prints both rates with 95 % Clopper–Pearson intervals, how long a trial pair took, and writes everything to
 * <out>/gate-validate.json. The order of A/A and A/B alternates between trials so neither always runs last.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import binomialTest from '@stdlib/stats-binomial-test';
import { list, nonNegativeNumber, parseFlags, positiveInteger, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { compiled } from '../servers/paths.js';
import { findModel } from '../servers/registry.js';
import { readRecords } from '../bench/results-dir.js';
import { summarizeRecords } from '../bench/aggregate.js';
import type { GateResult } from '../bench/gate.js';
import { newSuiteId } from '../bench/results-dir.js';
import { watchParent } from '../lib/parent.js';

const USAGE = `usage: npm run gate:validate [-- options]

Runs N trials of: a fresh baseline suite, the same suite again (A/A: a failing gate is a false alarm), and the
suite with one model made slower per message (A/B: the gate flagging that model is a detection). Prints the
false-alarm and detection rates with 95% intervals.

  --trials N            trial pairs (default 10)
  --model M             the model to slow down (default event-loop)
  --inject-percent P    its extra per-message CPU, % of its CPU µs/msg in the first baseline (default 15)
  --models A,B          models in each suite (default event-loop,cluster-rr,native-epoll)
  --filter TEXT         workloads (default echo: the default cell)
  --runs R              runs every cell gets (default 5)
  --max-runs N          adaptive budget per cell (default 10)
  --duration SEC        measured seconds per run (default 1)
  --warmup SEC          warmup per run (default 0.5)
  --threshold PCT       the gate's threshold (default 10)
  --out DIR             where the suites and the summary go (default results/gate-validate/<id>)`;

interface SuiteOutcome {
  exitCode: number;
  gate?: GateResult;
  seconds: number;
}

interface Trial {
  trial: number;
  baselineSec: number;
  aa: SuiteOutcome & { falseAlarm: boolean };
  ab: SuiteOutcome & { detected: boolean; cpuChange?: number };
}

let current: ReturnType<typeof spawn> | undefined;
let stopping = false;

function runBench(args: string[]): Promise<{ code: number; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [compiled('bench/cli.ts'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    current = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      current = undefined;
      const seconds = (performance.now() - started) / 1000;
      if (code === 0 || code === 1) resolve({ code, seconds });
      else reject(new Error(`bench ${signal ? `stopped by ${signal}` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** The suite folder a bench run just wrote (results root's LATEST). */
function latestSuite(root: string): string {
  return path.join(root, readFileSync(path.join(root, 'LATEST'), 'utf8').trim());
}

function readGate(suite: string): GateResult | undefined {
  try {
    return JSON.parse(readFileSync(path.join(suite, 'compare.json'), 'utf8')) as GateResult;
  } catch {
    return undefined;
  }
}

function rate(k: number, n: number): string {
  if (n === 0) return 'n/a';
  const ci = binomialTest(k, n).ci;
  return `${k}/${n} = ${((k / n) * 100).toFixed(0)}% (95% CI ${(ci[0]! * 100).toFixed(0)}–${(ci[1]! * 100).toFixed(0)}%)`;
}

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    trials: { type: 'string' },
    model: { type: 'string' },
    'inject-percent': { type: 'string' },
    models: { type: 'string' },
    filter: { type: 'string' },
    runs: { type: 'string' },
    'max-runs': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    threshold: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const trials = positiveInteger('trials', values.trials, 10, 1000);
  const target = findModel(values.model ?? 'event-loop');
  if (target.runtime !== 'node') throw new UsageError(`--model must be a Node model (${target.name} is the native reference)`);
  const injectPercent = positiveNumber('inject-percent', values['inject-percent'], 15);
  const models = list('models', values.models ?? 'event-loop,cluster-rr,native-epoll');
  models.forEach(findModel);
  if (!models.includes(target.name)) throw new UsageError(`--models must include the slowed model ${target.name}`);
  const thresholdPercent = positiveNumber('threshold', values.threshold, 10);
  const out = values.out ?? path.join('results', 'gate-validate', newSuiteId());
  mkdirSync(out, { recursive: true });
  const suiteArgs = [
    '--model', models.join(','),
    '--filter', values.filter ?? 'echo',
    '--runs', String(positiveInteger('runs', values.runs, 5, 1000)),
    '--max-runs', String(positiveInteger('max-runs', values['max-runs'], 10, 1000)),
    '--duration', String(positiveNumber('duration', values.duration, 1)),
    '--warmup', String(nonNegativeNumber('warmup', values.warmup, 0.5)),
    '--threshold', String(thresholdPercent),
  ];

  const stop = (): void => {
    stopping = true;
    current?.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  watchParent(stop);

  const err = process.stderr;
  const results: Trial[] = [];
  let injectMicros: number | undefined;
  const started = performance.now();
  for (let t = 0; t < trials && !stopping; t++) {
    const dir = path.join(out, `trial-${t + 1}`);
    const base = await runBench([...suiteArgs, '--out', path.join(dir, 'baseline-suite'), '--save-baseline']);
    const baseline = path.join(dir, 'baseline-suite', 'baseline');
    if (injectMicros === undefined) {
      const cell = summarizeRecords(readRecords(baseline)).find((c) => c.model === target.name);
      if (!cell || !Number.isFinite(cell.serverCpuUsPerMsg)) throw new Error(`the baseline has no CPU µs/msg for ${target.name}`);
      injectMicros = Number(((cell.serverCpuUsPerMsg * injectPercent) / 100).toFixed(2));
      err.write(`${target.name} costs ${cell.serverCpuUsPerMsg.toFixed(2)} µs of server CPU per message: injecting +${injectMicros} µs (${injectPercent}%)\n`);
    }
    const runs = { aa: [...suiteArgs, '--baseline', baseline, '--out', path.join(dir, 'aa')], ab: [...suiteArgs, '--baseline', baseline, '--inject-cpu', `${target.name}:${injectMicros}`, '--out', path.join(dir, 'ab')] };
    const order: ('aa' | 'ab')[] = t % 2 === 0 ? ['aa', 'ab'] : ['ab', 'aa'];
    const outcome: Partial<Record<'aa' | 'ab', SuiteOutcome>> = {};
    for (const kind of order) {
      if (stopping) break;
      const r = await runBench(runs[kind]);
      const gate = readGate(latestSuite(path.join(dir, kind)));
      outcome[kind] = { exitCode: r.code, seconds: r.seconds, ...(gate ? { gate } : {}) };
    }
    if (!outcome.aa || !outcome.ab) break;
    const aa = { ...outcome.aa, falseAlarm: outcome.aa.exitCode === 1 };
    const injected = outcome.ab.gate?.report.regressions.some((r) => r.model === target.name) ?? false;
    const cpuRow = outcome.ab.gate?.report.rows.find((r) => r.model === target.name && r.metric === 'cpuPerMsg');
    const ab = { ...outcome.ab, detected: outcome.ab.exitCode === 1 && injected, ...(cpuRow ? { cpuChange: cpuRow.change } : {}) };
    results.push({ trial: t + 1, baselineSec: base.seconds, aa, ab });
    const pair = base.seconds + aa.seconds + ab.seconds;
    err.write(
      `trial ${t + 1}/${trials}: A/A ${aa.falseAlarm ? `FALSE ALARM (${aa.gate?.decision ?? 'exit 1'})` : 'pass'}; ` +
        `A/B ${ab.detected ? 'detected' : `MISSED (${ab.gate?.decision ?? `exit ${ab.exitCode}`})`}` +
        `${cpuRow ? `, ${target.name} CPU µs/msg ${(cpuRow.change * 100).toFixed(1)}%` : ''}; trial pair ${Math.round(pair)} s\n`,
    );
  }

  const n = results.length;
  const falseAlarms = results.filter((r) => r.aa.falseAlarm).length;
  const detections = results.filter((r) => r.ab.detected).length;
  const pairSec = results.map((r) => r.baselineSec + r.aa.seconds + r.ab.seconds);
  // What the injection really cost: the calibrated spin is nominal, the gate sees the measured change.
  const cpuChanges = (pick: (t: Trial) => number | undefined): number[] => results.map(pick).filter((c): c is number => c !== undefined && Number.isFinite(c));
  const abChanges = cpuChanges((t) => t.ab.cpuChange);
  const aaChanges = cpuChanges((t) => t.aa.gate?.report.rows.find((r) => r.model === target.name && r.metric === 'cpuPerMsg')?.change);
  const meanPct = (xs: number[]): string => (xs.length > 0 ? `${((xs.reduce((a, b) => a + b, 0) / xs.length) * 100).toFixed(1)}%` : 'n/a');
  const summary = {
    trials: n,
    model: target.name,
    injectPercent,
    injectMicros,
    suite: suiteArgs,
    falseAlarms,
    detections,
    measuredCpuChangeAB: meanPct(abChanges),
    measuredCpuChangeAA: meanPct(aaChanges),
    falseAlarmRate: rate(falseAlarms, n),
    detectionRate: rate(detections, n),
    meanTrialPairSec: n > 0 ? pairSec.reduce((a, b) => a + b, 0) / n : NaN,
    totalSec: (performance.now() - started) / 1000,
    results,
  };
  writeFileSync(path.join(out, 'gate-validate.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(
    [
      `gate:validate — ${n} trial pair(s); ${target.name} +${injectMicros} µs per message (${injectPercent}% of its CPU cost); suite: ${suiteArgs.join(' ')}`,
      `false alarms (A/A, same code):        ${summary.falseAlarmRate}`,
      `detections   (A/B, ${injectPercent}% slower):      ${summary.detectionRate}`,
      `${target.name} CPU µs/msg as the gate measured it: mean change ${summary.measuredCpuChangeAB} in A/B, ${summary.measuredCpuChangeAA} in A/A`,
      `time: ${Math.round(summary.meanTrialPairSec)} s per trial pair (baseline + A/A + A/B), ${Math.round(summary.totalSec)} s in all`,
      `details: ${path.join(out, 'gate-validate.json')}`,
    ].join('\n') + '\n',
  );
  if (stopping) process.exitCode = 130;
  else if (n === 0) process.exitCode = 1;
}

runMain(main, USAGE);
