/**
 * `npm run gate:validate -- --patch FILE [options]`: measures the regression gate's error rates on this machine with
 * a real code change instead of assuming them. Two scratch clones of HEAD are built once: one as it is, one with the
 * patch applied (an allocation, a copy, an extra write per message: what users need caught). Each trial runs two
 * `npm run bench -- --against HEAD` sessions, from the plain clone (A/A: identical code on both sides, a failing
 * gate is a false alarm) and from the patched one (A/B: the gate failing on a regression is a detection), in an
 * order that alternates. Beside the in-session gate, the saved-baseline gate judges the same runs the way a suite
 * saved earlier would be: this trial's head side against the previous trial's base side. Rates are printed with 95 %
 * Clopper–Pearson intervals, with the time a trial took; everything goes to <out>/gate-validate.json. `--from DIR`
 * judges an earlier validation's sessions again with the gate as it is now.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import binomialTest from '@stdlib/stats-binomial-test';
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import {
  helpText,
  integerOption,
  nonNegativeNumberOption,
  parseOptions,
  positiveNumberOption,
  switchOption,
  textOption,
} from '../lib/options.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { newSuiteId, readRecords } from '../bench/data/records-file.js';
import { splitSides } from '../bench/data/record.js';
import { runGate, type GateResult } from '../bench/judge/gate.js';
import { timedRuns, instructionRuns } from '../bench/judge/aggregate.js';
import { METRIC_IDS, samplesOf, METRICS, type MetricId } from '../bench/data/metrics.js';

/** The metrics whose change decides the gate: an A/B session's mean change is reported for each. */
const DECIDING: readonly MetricId[] = METRIC_IDS.filter((id) => METRICS[id].inGate === 'decides');
import { mean } from '../bench/data/stats.js';
import type { RunRecord } from '../bench/data/record.js';
import { beforeAnythingRuns, makeDirectory } from '../lib/files.js';
import { track } from '../lib/lifecycle.js';

const OPTIONS = {
  patch: textOption('patch', {
    meta: 'FILE',
    help: "the B side's change, a git diff applied to a clone of HEAD (e.g. test/fixtures/patches/*.patch)",
  }),
  trials: integerOption('trials', {
    min: 1,
    max: 1000,
    meta: 'N',
    default: 10,
    help: 'trials (each: one A/A and one A/B session)',
  }),
  models: textOption('models', {
    meta: 'A,B',
    default: 'event-loop,cluster-rr,native-epoll',
    help: 'models in each session',
  }),
  filter: textOption('filter', { meta: 'TEXT', default: 'echo', help: 'workloads' }),
  runs: integerOption('runs', { min: 1, max: 1000, meta: 'R', default: 3, help: 'runs every cell gets per side' }),
  maxRuns: integerOption('max-runs', {
    min: 1,
    max: 1000,
    meta: 'N',
    default: 10,
    help: 'adaptive budget per cell while the gate is undecided',
  }),
  durationSec: positiveNumberOption('duration', { meta: 'SEC', default: 1, help: 'measured seconds per run' }),
  warmupSec: nonNegativeNumberOption('warmup', { meta: 'SEC', default: 0.5, help: 'warmup per run' }),
  counts: switchOption('counts', 'count instructions too (the gate then decides on counts)'),
  skipTiming: switchOption('skip-timing', 'with --counts: no timed runs'),
  thresholdPercent: positiveNumberOption('threshold', {
    meta: 'PCT',
    default: DEFAULTS.thresholdPercent,
    help: "the gate's timing threshold",
  }),
  out: textOption('out', {
    meta: 'DIR',
    help: 'where the sessions and the summary go',
    defaultText: 'results/gate-validate/<id>',
  }),
  from: textOption('from', {
    meta: 'DIR',
    help: 'judge the sessions recorded in DIR again with the current gate (no new measurements)',
  }),
  help: switchOption('help', 'this text'),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: npm run gate:validate -- --patch FILE [options]',
  "Runs N trials of an A/A session (HEAD against HEAD) and an A/B session (HEAD with FILE applied, against HEAD),\nboth with npm run bench -- --against, and prints the gate's false-alarm and detection rates with 95% intervals.",
  [
    {
      options: [
        O.patch,
        O.trials,
        O.models,
        O.filter,
        O.runs,
        O.maxRuns,
        O.durationSec,
        O.warmupSec,
        O.counts,
        O.skipTiming,
        O.thresholdPercent,
        O.out,
        O.from,
        O.help,
      ],
    },
  ],
);

interface Judged {
  trial: number;
  /** `regression`: the gate named a regression in identical code (a wrong answer, not only an undecided one). */
  aa: { fails: boolean; regression: boolean; decision: string };
  ab: { detected: boolean; fails: boolean; decision: string; caughtBy: string[] };
  /** The same runs judged as a saved baseline would be: this trial's head against the previous trial's base. */
  saved?: { aaFails: boolean; abDetected: boolean };
  /** Measured change of each metric, A/B head against its base (means of the runs), for the most-changed cell. */
  changes: Partial<Record<MetricId, number>>;
  seconds?: number;
}

let current: ReturnType<typeof spawn> | undefined;
let stopping = false;

/** SIGINT/SIGTERM: the running session is stopped, and the trials done so far are summarized. */
function stopValidation(): void {
  stopping = true;
  current?.kill('SIGTERM');
}

function sh(command: string, args: string[], cwd: string, what: string): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${what} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
}

/** A clone of HEAD (committed code only) with this checkout's dependencies, the patch applied, built. */
function prepareClone(dir: string, patch: string | undefined): void {
  if (existsSync(path.join(dir, '.built'))) return;
  sh('git', ['clone', '--quiet', '--shared', '--no-checkout', PROJECT_ROOT, dir], PROJECT_ROOT, 'git clone');
  sh(
    'git',
    [
      'checkout',
      '--quiet',
      '--detach',
      spawnSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout.trim(),
    ],
    dir,
    'git checkout',
  );
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  if (patch) sh('git', ['apply', path.resolve(patch)], dir, `git apply ${patch}`);
  sh('npm', ['run', 'build', '--silent'], dir, 'npm run build');
  writeFileSync(path.join(dir, '.built'), '');
}

function runSession(clone: string, args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [path.join(clone, 'dist', 'bench', 'cli.js'), ...args], {
        cwd: clone,
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    current = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      current = undefined;
      // 1 is the gate failing: a result, judged from the records, not an error.
      // Stopped by us (SIGINT/SIGTERM): the trials done so far are still summarized below.
      if (code === 0 || code === 1 || stopping) resolve((performance.now() - started) / 1000);
      else
        reject(
          new Error(
            `bench ${signal ? `stopped by ${signal}` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

function rate(k: number, n: number): string {
  if (n === 0) return 'n/a';
  const ci = binomialTest(k, n).ci;
  return `${k}/${n} = ${((k / n) * 100).toFixed(0)}% (95% CI ${(ci[0]! * 100).toFixed(0)}–${(ci[1]! * 100).toFixed(0)}%)`;
}

const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : '–');

/** The largest change of each metric over the cells, head against base (means of the runs that measured it). */
function changesOf(base: readonly RunRecord[], head: readonly RunRecord[]): Partial<Record<MetricId, number>> {
  const out: Partial<Record<MetricId, number>> = {};
  const cells = [...new Set(head.map((r) => `${r.workload}/${r.model}`))];
  for (const id of DECIDING) {
    for (const cell of cells) {
      const pick = (rs: readonly RunRecord[]) => {
        const mine = rs.filter((r) => `${r.workload}/${r.model}` === cell);
        return samplesOf(id, id === 'instructionsPerMsg' ? instructionRuns(mine) : timedRuns(mine));
      };
      const b = mean(pick(base));
      const h = mean(pick(head));
      const change = b > 0 ? h / b - 1 : NaN;
      if (Number.isFinite(change) && (out[id] === undefined || Math.abs(change) > Math.abs(out[id]!))) out[id] = change;
    }
  }
  return out;
}

function judge(
  dir: string,
  trial: number,
  previousBase: RunRecord[] | undefined,
  thresholdPercent: number,
): { judged: Judged; base: RunRecord[] } {
  const options = { thresholdPercent, alpha: DEFAULTS.alpha, allowInconclusive: false };
  const [aaBase, aaHead] = splitSides(readRecords(path.join(dir, 'aa')));
  const [abBase, abHead] = splitSides(readRecords(path.join(dir, 'ab')));
  const aa: GateResult = runGate(aaBase, aaHead, options);
  const ab: GateResult = runGate(abBase, abHead, options);
  const saved = previousBase
    ? {
        aaFails: runGate(previousBase, aaHead, options).fails,
        abDetected: runGate(previousBase, abHead, options).report.regressions.length > 0,
      }
    : undefined;
  return {
    base: aaBase,
    judged: {
      trial,
      aa: { fails: aa.fails, regression: aa.report.regressions.length > 0, decision: aa.decision },
      ab: {
        detected: ab.report.regressions.length > 0,
        fails: ab.fails,
        decision: ab.decision,
        caughtBy: [...new Set(ab.report.regressions.map((r) => METRICS[r.metric].label))],
      },
      ...(saved ? { saved } : {}),
      changes: changesOf(abBase, abHead),
    },
  };
}

function trialLine(j: Judged, total: number): string {
  const changes = Object.entries(j.changes)
    .map(([id, c]) => `${METRICS[id as MetricId].label} ${pct(c)}`)
    .join(', ');
  return (
    `trial ${j.trial}/${total}: A/A ${j.aa.fails ? `FALSE ALARM (${j.aa.decision})` : 'pass'}; ` +
    `A/B ${j.ab.detected ? `detected by ${j.ab.caughtBy.join(', ')}` : `MISSED (${j.ab.decision})`}; change in A/B: ${changes}` +
    `${j.saved ? `; saved baseline: A/A ${j.saved.aaFails ? 'FALSE ALARM' : 'pass'}, A/B ${j.saved.abDetected ? 'detected' : 'missed'}` : ''}` +
    `${j.seconds !== undefined ? `; ${Math.round(j.seconds)} s` : ''}\n`
  );
}

async function main(): Promise<void> {
  const { values: v } = parseOptions(process.argv.slice(2), OPTIONS);
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const err = process.stderr;
  const judged: Judged[] = [];
  const started = performance.now();
  let out: string;
  let previousBase: RunRecord[] | undefined;

  if (v.from !== undefined) {
    out = v.from;
    if (!existsSync(out)) throw new UsageError(`--from: no such folder ${out}`);
    const dirs = readdirSync(out)
      .filter(
        (d) => /^trial-\d+$/.test(d) && existsSync(path.join(out, d, 'ab')) && existsSync(path.join(out, d, 'aa')),
      )
      .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
    if (dirs.length === 0) throw new UsageError(`--from: ${out} holds no trial-N folders`);
    for (const d of dirs) {
      const { judged: j, base } = judge(path.join(out, d), Number(d.slice(6)), previousBase, v.thresholdPercent);
      previousBase = base;
      judged.push(j);
      err.write(trialLine(j, dirs.length));
    }
  } else {
    if (v.patch === undefined)
      throw new UsageError('--patch FILE is required: the real code change the A/B side carries');
    if (!existsSync(v.patch)) throw new UsageError(`--patch ${v.patch}: no such file`);
    if (v.skipTiming && !v.counts) throw new UsageError('--skip-timing needs --counts');
    out = path.resolve(v.out ?? path.join('results', 'gate-validate', newSuiteId()));
    beforeAnythingRuns(() => makeDirectory(out));
    const plain = path.join(out, 'clone-plain');
    const patched = path.join(out, 'clone-patched');
    err.write(`building two clones of HEAD in ${out}: as it is, and with ${v.patch}\n`);
    prepareClone(plain, undefined);
    prepareClone(patched, v.patch);
    writeFileSync(path.join(out, 'patch.diff'), readFileSync(v.patch));
    const sessionArgs = [
      '--against',
      'HEAD',
      '--model',
      v.models,
      '--filter',
      v.filter,
      '--runs',
      String(v.runs),
      '--max-runs',
      String(v.maxRuns),
      '--duration',
      String(v.durationSec),
      '--warmup',
      String(v.warmupSec),
      '--threshold',
      String(v.thresholdPercent),
      ...(v.counts ? ['--counts'] : []),
      ...(v.skipTiming ? ['--skip-timing'] : []),
    ];
    for (let t = 1; t <= v.trials && !stopping; t++) {
      const dir = path.join(out, `trial-${t}`);
      let seconds = 0;
      const kinds: ('aa' | 'ab')[] = t % 2 === 1 ? ['aa', 'ab'] : ['ab', 'aa'];
      for (const kind of kinds) {
        if (stopping) break;
        seconds += await runSession(kind === 'aa' ? plain : patched, [...sessionArgs, '--out', path.join(dir, kind)]);
      }
      if (stopping) break;
      const { judged: j, base } = judge(dir, t, previousBase, v.thresholdPercent);
      previousBase = base;
      judged.push({ ...j, seconds });
      err.write(trialLine({ ...j, seconds }, v.trials));
    }
  }

  const n = judged.length;
  const withSaved = judged.filter((j) => j.saved);
  const meanOf = (xs: number[]): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const summary = {
    trials: n,
    patch: v.patch,
    thresholdPercent: v.thresholdPercent,
    falseAlarmRate: rate(judged.filter((j) => j.aa.fails).length, n),
    falseRegressionRate: rate(judged.filter((j) => j.aa.regression).length, n),
    detectionRate: rate(judged.filter((j) => j.ab.detected).length, n),
    savedBaseline: {
      falseAlarmRate: rate(withSaved.filter((j) => j.saved!.aaFails).length, withSaved.length),
      detectionRate: rate(withSaved.filter((j) => j.saved!.abDetected).length, withSaved.length),
    },
    meanChange: Object.fromEntries(
      DECIDING.map((id) => [id, meanOf(judged.flatMap((j) => (j.changes[id] !== undefined ? [j.changes[id]!] : [])))]),
    ),
    meanTrialSec: meanOf(judged.flatMap((j) => (j.seconds !== undefined ? [j.seconds] : []))),
    totalSec: (performance.now() - started) / 1000,
    judged,
  };
  if (v.from === undefined)
    writeFileSync(path.join(out, 'gate-validate.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(
    [
      `gate:validate — ${n} trial(s)${v.from !== undefined ? ` judged again from ${out}` : ` with ${v.patch}`}; timing threshold ${v.thresholdPercent}%`,
      `${'in-session gate (--against), false alarms (A/A):'.padEnd(56)} ${summary.falseAlarmRate}`,
      `${'  of which a regression named (all, with --allow-inconclusive):'.padEnd(56)} ${summary.falseRegressionRate}`,
      `${'in-session gate (--against), detections (A/B):'.padEnd(56)} ${summary.detectionRate}`,
      `${'saved-baseline gate (earlier suite), false alarms:'.padEnd(56)} ${summary.savedBaseline.falseAlarmRate}`,
      `${'saved-baseline gate (earlier suite), detections:'.padEnd(56)} ${summary.savedBaseline.detectionRate}`,
      `mean change in A/B: ${Object.entries(summary.meanChange)
        .map(([id, c]) => `${METRICS[id as MetricId].label} ${pct(c)}`)
        .join(', ')}`,
      ...(Number.isFinite(summary.meanTrialSec)
        ? [
            `time: ${Math.round(summary.meanTrialSec)} s per trial (A/A + A/B sessions), ${Math.round(summary.totalSec)} s in all`,
          ]
        : []),
      ...(v.from === undefined ? [`details: ${path.join(out, 'gate-validate.json')}`] : []),
    ].join('\n') + '\n',
  );
  if (stopping) process.exitCode = 130;
  else if (n === 0) process.exitCode = 1;
}

runCommand(main, { usage: USAGE, onStop: stopValidation, graceMs: 60_000 });
