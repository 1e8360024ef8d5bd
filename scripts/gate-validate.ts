/**
 * `npm run gate:validate [-- options]`: measures the regression gate's error rates on this machine instead of
 * assuming them. Each trial records three suites: a fresh baseline, the same code again (A/A: a failing gate is a
 * false alarm) and the same code with one model slowed down per message by the serve --inject-cpu knob (A/B: the
 * gate flagging that model is a detection). The order of A/A and A/B alternates so neither always runs last.
 *
 * The knob is calibrated busy work, and what a message really costs more is what the gate sees: after the first
 * trial, the injection is rescaled once so that the measured increase of the model's CPU µs/msg is --inject-percent.
 * Both rates are printed with 95 % Clopper–Pearson intervals, with the time a trial pair took; everything goes to
 * <out>/gate-validate.json. `--from DIR` judges the suites of an earlier validation again, with the gate as it is now.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import binomialTest from '@stdlib/stats-binomial-test';
import { list, nonNegativeNumber, parseFlags, positiveInteger, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { compiled } from '../lib/paths.js';
import { findModel } from '../servers/registry.js';
import { newSuiteId, readRecords } from '../bench/results-dir.js';
import { timedRuns, cpuPerMessageSamples } from '../bench/aggregate.js';
import { runGate, type GateResult } from '../bench/gate.js';
import { mean } from '../bench/stats.js';
import type { RunRecord } from '../bench/record.js';
import { watchParent } from '../lib/parent.js';

const USAGE = `usage: npm run gate:validate [-- options]

Runs N trials of: a fresh baseline suite, the same suite again (A/A: a failing gate is a false alarm), and the
suite with one model made slower per message (A/B: the gate flagging that model is a detection). Prints the
false-alarm and detection rates with 95% intervals.

  --trials N            trials (default 10)
  --model M             the model to slow down (default event-loop)
  --inject-percent P    the increase of its CPU µs per message to inject, as measured (default 15)
  --inject-us US        inject exactly US µs of busy work per message instead (no rescaling; e.g. from an
                        earlier validation's measured change per µs)
  --models A,B          models in each suite (default event-loop,cluster-rr,native-epoll)
  --filter TEXT         workloads (default echo: the default cell)
  --runs R              runs every cell gets (default 5)
  --max-runs N          adaptive budget per cell (default 20)
  --target-ci PCT       adaptive runs until each cell's 95% CI is within PCT % (default 4)
  --duration SEC        measured seconds per run (default 1)
  --warmup SEC          warmup per run (default 0.5)
  --threshold PCT       the gate's threshold (default 10)
  --out DIR             where the suites and the summary go (default results/gate-validate/<id>)
  --from DIR            judge the trials recorded in DIR again with the current gate (no new measurements)`;

interface Judged {
  trial: number;
  aa: { fails: boolean; decision: string };
  ab: { detected: boolean; fails: boolean; decision: string };
  /** Measured change of the slowed model's CPU µs/msg (means of the runs), A/B and A/A against the baseline. */
  cpuChangeAB: number;
  cpuChangeAA: number;
  injectMicros: number;
  /** Seconds the three suites took (live trials only). */
  seconds?: number;
}

let current: ReturnType<typeof spawn> | undefined;
let stopping = false;

function runBench(args: string[]): Promise<number> {
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
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`bench ${signal ? `stopped by ${signal}` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

function cpuOf(records: readonly RunRecord[], model: string): number {
  return mean(cpuPerMessageSamples(timedRuns(records).filter((r) => r.model === model)));
}

/** The gate on one trial's three suites: did A/A fail, did A/B flag the slowed model? */
function judge(dir: string, trial: number, model: string, gateOptions: { thresholdPercent: number }): Judged {
  const baseline = readRecords(path.join(dir, 'baseline-suite', 'baseline'));
  const aaRecords = readRecords(path.join(dir, 'aa'));
  const abRecords = readRecords(path.join(dir, 'ab'));
  const options = { thresholdPercent: gateOptions.thresholdPercent, alpha: 0.05, allowInconclusive: false };
  const aa: GateResult = runGate(baseline, aaRecords, options);
  const ab: GateResult = runGate(baseline, abRecords, options);
  const base = cpuOf(baseline, model);
  const injected = timedRuns(abRecords).find((r) => r.model === model && r.server.details?.injectCpuMicros !== undefined)?.server.details?.injectCpuMicros;
  return {
    trial,
    aa: { fails: aa.fails, decision: aa.decision },
    ab: { detected: ab.report.regressions.some((r) => r.model === model), fails: ab.fails, decision: ab.decision },
    cpuChangeAB: cpuOf(abRecords, model) / base - 1,
    cpuChangeAA: cpuOf(aaRecords, model) / base - 1,
    injectMicros: Number(injected ?? NaN),
  };
}

function rate(k: number, n: number): string {
  if (n === 0) return 'n/a';
  const ci = binomialTest(k, n).ci;
  return `${k}/${n} = ${((k / n) * 100).toFixed(0)}% (95% CI ${(ci[0]! * 100).toFixed(0)}–${(ci[1]! * 100).toFixed(0)}%)`;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function trialLine(j: Judged, total: number, model: string): string {
  return (
    `trial ${j.trial}/${total}: A/A ${j.aa.fails ? `FALSE ALARM (${j.aa.decision})` : 'pass'}; ` +
    `A/B ${j.ab.detected ? 'detected' : `MISSED (${j.ab.decision})`}, ${model} +${j.injectMicros} µs injected, CPU µs/msg ${pct(j.cpuChangeAB)} ` +
    `(A/A ${pct(j.cpuChangeAA)})${j.seconds !== undefined ? `; trial ${Math.round(j.seconds)} s` : ''}\n`
  );
}

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    trials: { type: 'string' },
    model: { type: 'string' },
    'inject-percent': { type: 'string' },
    'inject-us': { type: 'string' },
    models: { type: 'string' },
    filter: { type: 'string' },
    runs: { type: 'string' },
    'max-runs': { type: 'string' },
    'target-ci': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    threshold: { type: 'string' },
    out: { type: 'string' },
    from: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const target = findModel(values.model ?? 'event-loop');
  if (target.runtime !== 'node') throw new UsageError(`--model must be a Node model (${target.name} is the native reference)`);
  const injectPercent = positiveNumber('inject-percent', values['inject-percent'], 15);
  const thresholdPercent = positiveNumber('threshold', values.threshold, 10);
  const err = process.stderr;
  const judged: Judged[] = [];
  const started = performance.now();
  let out: string;
  let suiteArgs: string[] = [];

  if (values.from !== undefined) {
    out = values.from;
    if (!existsSync(out)) throw new UsageError(`--from: no such folder ${out}`);
    const dirs = readdirSync(out)
      .filter((d) => /^trial-\d+$/.test(d) && existsSync(path.join(out, d, 'ab')))
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    if (dirs.length === 0) throw new UsageError(`--from: ${out} holds no trial-N folders`);
    for (const d of dirs) {
      const j = judge(path.join(out, d), Number(d.slice(6)), target.name, { thresholdPercent });
      judged.push(j);
      err.write(trialLine(j, dirs.length, target.name));
    }
  } else {
    const trials = positiveInteger('trials', values.trials, 10, 1000);
    const models = list('models', values.models ?? 'event-loop,cluster-rr,native-epoll');
    models.forEach(findModel);
    if (!models.includes(target.name)) throw new UsageError(`--models must include the slowed model ${target.name}`);
    out = values.out ?? path.join('results', 'gate-validate', newSuiteId());
    mkdirSync(out, { recursive: true });
    suiteArgs = [
      '--model', models.join(','),
      '--filter', values.filter ?? 'echo',
      '--runs', String(positiveInteger('runs', values.runs, 5, 1000)),
      '--max-runs', String(positiveInteger('max-runs', values['max-runs'], 20, 1000)),
      '--target-ci', String(positiveNumber('target-ci', values['target-ci'], 4)),
      '--duration', String(positiveNumber('duration', values.duration, 1)),
      '--warmup', String(nonNegativeNumber('warmup', values.warmup, 0.5)),
    ];
    const stop = (): void => {
      stopping = true;
      current?.kill('SIGTERM');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    watchParent(stop);

    const fixed = values['inject-us'] !== undefined ? positiveNumber('inject-us', values['inject-us'], 1) : undefined;
    let injectMicros: number | undefined = fixed;
    for (let t = 1; t <= trials && !stopping; t++) {
      const dir = path.join(out, `trial-${t}`);
      let seconds = await runBench([...suiteArgs, '--out', path.join(dir, 'baseline-suite'), '--save-baseline']);
      if (injectMicros === undefined) {
        const base = cpuOf(readRecords(path.join(dir, 'baseline-suite', 'baseline')), target.name);
        if (!Number.isFinite(base)) throw new Error(`the baseline has no CPU µs/msg for ${target.name}`);
        injectMicros = Number(((base * injectPercent) / 100).toFixed(2));
        err.write(`${target.name} costs ${base.toFixed(2)} µs of server CPU per message: injecting +${injectMicros} µs (${injectPercent}%), rescaled after the first trial\n`);
      } else if (t === 1) {
        err.write(`injecting +${injectMicros} µs per message into ${target.name}\n`);
      }
      const kinds: ('aa' | 'ab')[] = t % 2 === 1 ? ['aa', 'ab'] : ['ab', 'aa'];
      for (const kind of kinds) {
        if (stopping) break;
        const inject = kind === 'ab' ? ['--inject-cpu', `${target.name}:${injectMicros}`] : [];
        seconds += await runBench([...suiteArgs, ...inject, '--out', path.join(dir, kind)]);
      }
      if (stopping) break;
      const j = { ...judge(dir, t, target.name, { thresholdPercent }), seconds };
      judged.push(j);
      err.write(trialLine(j, trials, target.name));
      // The busy loop is calibrated nominally; what the gate sees is the measured increase. Rescale once.
      if (t === 1 && fixed === undefined && j.cpuChangeAB > 0) {
        injectMicros = Number(((injectMicros * injectPercent) / 100 / j.cpuChangeAB).toFixed(2));
        err.write(`measured ${pct(j.cpuChangeAB)} for the nominal ${injectPercent}%: injecting +${injectMicros} µs from now on\n`);
      }
    }
  }

  // The first live trial calibrates the injection (unless it was given in µs); it is not counted then.
  const calibrating = values.from === undefined && values['inject-us'] === undefined;
  const counted = calibrating ? judged.slice(1) : judged;
  const n = counted.length;
  const falseAlarms = counted.filter((j) => j.aa.fails).length;
  const detections = counted.filter((j) => j.ab.detected).length;
  const meanOf = (xs: number[]): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const live = counted.filter((j) => j.seconds !== undefined);
  const summary = {
    trials: n,
    model: target.name,
    injectPercent,
    thresholdPercent,
    suite: suiteArgs,
    falseAlarms,
    detections,
    falseAlarmRate: rate(falseAlarms, n),
    detectionRate: rate(detections, n),
    measuredCpuChangeAB: meanOf(counted.map((j) => j.cpuChangeAB)),
    measuredCpuChangeAA: meanOf(counted.map((j) => j.cpuChangeAA)),
    meanTrialSec: meanOf(live.map((j) => j.seconds!)),
    totalSec: (performance.now() - started) / 1000,
    judged,
  };
  if (values.from === undefined) writeFileSync(path.join(out, 'gate-validate.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(
    [
      `gate:validate — ${n} trial(s)${values.from !== undefined ? ` judged again from ${out}` : `${calibrating ? ' after 1 calibration trial' : ''}; suite: ${suiteArgs.join(' ')}`}; threshold ${thresholdPercent}%`,
      `${'false alarms (A/A, same code):'.padEnd(46)} ${summary.falseAlarmRate}`,
      `${`detections   (A/B, ${target.name} slowed as below):`.padEnd(46)} ${summary.detectionRate}`,
      `${target.name} CPU µs/msg as measured: mean change ${pct(summary.measuredCpuChangeAB)} in A/B, ${pct(summary.measuredCpuChangeAA)} in A/A`,
      ...(live.length > 0 ? [`time: ${Math.round(summary.meanTrialSec)} s per trial (baseline + A/A + A/B), ${Math.round(summary.totalSec)} s in all`] : []),
      ...(values.from === undefined ? [`details: ${path.join(out, 'gate-validate.json')}`] : []),
    ].join('\n') + '\n',
  );
  if (stopping) process.exitCode = 130;
  else if (n === 0) process.exitCode = 1;
}

runMain(main, USAGE);
