#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: runs the workload matrix against the registered models and prints one table per
 * workload and the verdict; writes records, Markdown, CSV, summary JSON and charts under results/<suite>/.
 * The steps, in order: settings (pure), preflight (what the machine says about them), the plan printed, the results
 * folder, the timed rounds, the counted pass, the gate, the render, the exit code.
 */
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand, SIGNAL_EXIT, type StopSignal } from '../../lib/lifecycle.js';
import { SetupError } from '../../lib/cli-args.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { beforeAnythingRuns, isFileSystemError } from '../../lib/files.js';
import { wrap } from '../../lib/format/wrap.js';
import { settingsFromArgs, USAGE, type Settings } from '../data/settings.js';
import { newSuiteId, ResultsDir, writeBaseline } from '../data/records-file.js';
import { splitSides, type Environment, type RunRecord } from '../data/record.js';
import type { Workload } from '../data/workloads.js';
import { runGate } from '../judge/gate.js';
import { measuredFailures } from '../judge/judgement.js';
import { captureEnvironment } from '../run/env.js';
import type { CpuSplit } from '../run/pinning.js';
import { localHost, type ServerHost } from '../run/server-host.js';
import { estimateSeconds, runSuite, type WorkloadGroup } from '../run/orchestrator.js';
import {
  modelSubject,
  runCell,
  type CellContext,
  type CellSubject,
  type HandlerFile,
  requestsKey,
} from '../run/run-cell.js';
import { blockWindows, runBlock } from '../run/run-block.js';
import { measuredCapacities } from '../run/capacities.js';
import { keepCpuRate, keptCpuRate, rateOfRecords, type CpuRate } from '../run/cpu-rate.js';
import { busyWarning, claimMachine, otherSuites } from '../run/machine-claim.js';
import { allPlanners, baselinePlanner, comparisonPlanner, CONFIRM_TIMING_RUNS, verdictPlanner } from '../run/plan.js';
import { countSlots, runCountedPass, runCountJobs } from '../run/counts.js';
import { cellsToConfirm, confirmationJobs, CONFIRM_PROCESSES } from '../run/confirm.js';
import { connectAgent } from '../host/remote-host.js';
import { ceilingSubject, httpCeilingTarget, type CeilingTarget } from '../host/ceiling.js';
import { MODELS, type Model } from '../../servers/registry.js';
import { renderSuite } from './render.js';
import { prepareBase, prepareHandlerBase, type BaseBuild, type HandlerBase } from './against.js';
import { listEverything, preflight, type Preflight } from './preflight.js';
import { checkHandler, type HandlerRequests } from './handler-check.js';
import { writeRequestsFile } from '../../clients/requests-file.js';
import { runCapacityPhase } from './capacity-phase.js';
import { countedLine, disturbedLines, planLines, progressLine, runLine } from './progress.js';

// Ctrl-C, SIGTERM (timeout, a cancelled CI job) or the parent's death stop the suite within moments: the current
// run is cut short (its client and server killed) and recorded as interrupted; what finished is kept and rendered.
const stopper = new AbortController();
let stoppedBy: StopSignal | undefined;
function stopSuite(signal: StopSignal, why: string): void {
  stoppedBy = signal;
  process.stderr.write(`\n${why}: stopping the current run and writing what was measured (again to quit at once)\n`);
  stopper.abort(why);
}

/** Bytes a run's record takes in records.jsonl, about (a merged HdrHistogram is most of it), with room to spare. */
const RECORD_BYTES = 16 * 1024;
/** Bytes the report files take beside the records (report.html inlines vega: ~0.5 MB). */
const REPORT_BYTES = 4 * 2 ** 20;

/**
 * Each workload's split, planned from its pin mode and whether any of its models serves on several CPUs (the driver
 * is sized for the fastest of them), unless --pin or the CPU flags overrode it.
 */
function splitsFor(p: Preflight, host: ServerHost, shared: ReadonlyMap<Workload, string>): Map<Workload, CpuSplit> {
  const splits = new Map<Workload, CpuSplit>();
  for (const w of p.plan.workloads) {
    const split = host.cpuSplit(w.pin, { parallel: p.plan.cells.some((c) => c.workload === w && c.model.parallel) });
    const why = shared.get(w);
    splits.set(w, why && split.why ? { ...split, why: `${why}; ${split.why}` } : split);
  }
  return splits;
}

/**
 * A handler whose work per request outweighs the driver's per message is CPU-bound work like the cpu workload's, and
 * gets its split: the server on every CPU. On one server CPU every model tied on a hash handler (138–151 CPU µs a
 * request) while the models built to use both CPUs sat on one. Unless --pin said otherwise, and only here (an agent's
 * driver is elsewhere). Mutates the plan's workloads, so their records say the split they ran with.
 */
function pinHandlerWork(
  settings: Settings,
  answers: ReadonlyMap<Workload, HandlerRequests> | undefined,
  plan: readonly Workload[],
  driverPerThread: number,
): Map<Workload, string> {
  const reasons = new Map<Workload, string>();
  const pinGiven = settings.pin !== undefined || (settings.set ?? []).some((s) => s.startsWith('pin='));
  if (!answers || pinGiven) return reasons;
  const driverMicros = 1e6 / driverPerThread;
  for (const w of plan) {
    const cost = answers.get(w)?.cpuMicrosPerRequest;
    if (cost === undefined || w.pin !== 'separate' || cost < driverMicros) continue;
    w.pin = 'shared';
    reasons.set(
      w,
      `your handler took ${cost.toFixed(1)} CPU µs a request here, more than the driver takes a message (${driverMicros.toFixed(1)})`,
    );
  }
  return reasons;
}

/** What --against compares: conbench's servers at REF (a build), or your handler at REF in its repository. */
type Comparison =
  | { kind: 'build'; build: BaseBuild; describe: string }
  | { kind: 'handler'; handler: HandlerBase; describe: string };

/** The one place a run's context is built: the settings by reference, and what this suite found or measured. */
function runContexts(o: {
  settings: Settings;
  found: Preflight;
  suiteId: string;
  env: CellContext['env'];
  host: ServerHost;
  splits: ReadonlyMap<Workload, CpuSplit>;
  ceilings: ReadonlyMap<Workload, CeilingTarget | undefined>;
  cpuRate?: number;
  base?: Comparison;
  requests?: ReadonlyMap<string, HandlerFile>;
}): WorkloadGroup[] {
  const subjectsOf = (model: Model): CellSubject[] => {
    if (!o.base) return [modelSubject(model)];
    const head = modelSubject(model, { side: 'head' });
    // Your handler at REF, in this conbench's servers.
    if (o.base.kind === 'handler')
      return [modelSubject(model, { side: 'base', handlerModule: o.base.handler.module }), head];
    // A server from outside runs on both sides, each from its revision's tree.
    const inBase = model.runtime === 'external' || o.base.build.models.includes(model.name);
    return inBase ? [modelSubject(model, { side: 'base', root: o.base.build.root }), head] : [head];
  };
  return o.found.plan.workloads.map((workload) => {
    const ceiling = o.ceilings.get(workload);
    return {
      workload,
      subjects: o.found.plan.cells.filter((c) => c.workload === workload).flatMap((c) => subjectsOf(c.model)),
      leading: ceiling ? [ceilingSubject(ceiling)] : [],
      ctx: {
        settings: o.settings,
        suiteId: o.suiteId,
        env: o.env,
        host: o.host,
        split: o.splits.get(workload)!,
        signal: stopper.signal,
        memoryCapBytes: o.found.memoryCapBytes,
        ...(o.cpuRate !== undefined ? { cpuRate: o.cpuRate } : {}),
        ...(o.requests ? { requests: o.requests } : {}),
      },
    };
  });
}

/**
 * The spin rate every model's cpu:<µs> work runs at (one for all, said on stderr): a --baseline's own, so the gate
 * compares the same work; else the one kept for this machine; else calibrated now and kept. Servers on another host
 * are calibrated there every time.
 */
async function cpuRateFor(
  settings: Settings,
  found: Preflight,
  env: Environment,
  host: ServerHost,
  splits: ReadonlyMap<Workload, CpuSplit>,
  suiteId: string,
): Promise<number> {
  const err = process.stderr;
  const baselineRate = found.baseline ? rateOfRecords(found.baseline) : undefined;
  const reused: CpuRate | undefined =
    settings.recalibrate || found.agent
      ? undefined
      : baselineRate !== undefined
        ? { iterationsPerUs: baselineRate, source: "the baseline's own, so both sides did the same work" }
        : keptCpuRate(settings.out, env);
  if (reused) {
    err.write(`cpu work: ${reused.iterationsPerUs.toFixed(1)} spin iterations per µs, ${reused.source}\n`);
    return reused.iterationsPerUs;
  }
  const rate = await host.calibrateCpuRate(splits.values().next().value!);
  let kept = '';
  if (!found.agent)
    try {
      keepCpuRate(settings.out, env, rate, suiteId);
      kept = ", kept for this machine's next suites";
    } catch (error) {
      kept = `, not kept (${(error as Error).message})`;
    }
  err.write(`cpu work calibrated: ${rate.toFixed(1)} spin iterations per µs (one rate for every model${kept})\n`);
  return rate;
}

async function main(): Promise<void> {
  const settings = settingsFromArgs(process.argv.slice(2));
  if (settings === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (settings === 'list') {
    process.stdout.write(listEverything() + '\n');
    return;
  }
  const found = preflight(settings);
  const { plan } = found;
  // --against with --handler: your handler as it was at REF (its repository's tree, checked out once per commit).
  const handlerBase =
    settings.against !== undefined && settings.handler !== undefined
      ? prepareHandlerBase(settings.against, path.resolve(settings.handler), (line) =>
          process.stderr.write(`${line}\n`),
        )
      : undefined;
  // --handler: asked every request here first; a handler that fails that ends the command before anything runs. Both
  // sides of a comparison are sent the same requests (generated from one seed), each checked against its own answers.
  const handlerWorkloads = handlerBase
    ? [...plan.workloads, ...plan.workloads.map((w) => ({ ...w, work: `handler:${handlerBase.module}` }))]
    : plan.workloads;
  const answers =
    settings.handler !== undefined
      ? await checkHandler(handlerWorkloads, {
          ...(settings.requests !== undefined ? { requestsFile: settings.requests } : {}),
          ...(settings.seed === undefined && handlerBase ? { seed: 1 } : {}),
          ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
        })
      : undefined;
  const env = captureEnvironment();
  const capacities = measuredCapacities(settings.out, env);
  const host = found.agent ? await connectAgent(found.agent) : localHost(env.taskset, capacities, found.cpus);
  const splits = splitsFor(
    found,
    host,
    found.agent ? new Map() : pinHandlerWork(settings, answers, found.plan.workloads, capacities.driverPerThread),
  );
  const ceilings = new Map<Workload, CeilingTarget | undefined>();
  for (const [w, split] of splits) {
    // Looked up (is nginx installed?) only when some workload needs it.
    ceilings.set(
      w,
      w.protocol === 'http' && !settings.skipCeiling
        ? httpCeilingTarget(settings.workers ?? split.serverCpuCount, host.agent !== undefined)
        : undefined,
    );
  }
  const err = process.stderr;
  // In a terminal the run lines overwrite each other; anything else said keeps its line.
  const progress = progressLine(err);
  const sides = settings.against !== undefined ? 2 : 1;
  const plannedCount =
    sides * plan.cells.length * settings.runs + plan.workloads.filter((w) => ceilings.get(w)).length * settings.runs;
  const estimateSec = estimateSeconds(plannedCount, settings.warmupSec, settings.durationSec);
  // Two sides measure twice the cells: the budget is the profile's per side.
  const budgetSec = settings.maxSec !== undefined ? settings.maxSec * sides : undefined;
  err.write(
    planLines({
      settings,
      plan,
      notes: found.notes,
      sides,
      splits,
      ceilings,
      estimateSec,
      ...(budgetSec !== undefined ? { budgetSec } : {}),
    }).join('\n') + '\n',
  );
  if (settings.dryRun) {
    for (const w of plan.workloads)
      process.stdout.write(
        `${w.name}: ${plan.cells
          .filter((c) => c.workload === w)
          .map((c) => c.model.name)
          .join(', ')}\n`,
      );
    return;
  }

  // Before the first server starts: a results folder of this suite's own that can take its records (a bad --out, a
  // read-only or full disk is a usage error, found now rather than after minutes of measuring).
  const results = preflightResults(
    settings.out,
    newSuiteId(),
    plannedCount * Math.max(2, settings.maxRuns / settings.runs) * RECORD_BYTES + REPORT_BYTES,
  );
  results.writeParams({
    suiteId: results.suiteId,
    marginPercent: settings.marginPercent,
    profile: settings.profile,
    argv: process.argv.slice(2),
    started: new Date().toISOString(),
  });
  err.write(`records: ${results.recordsFile}\n`);
  const requests = answers ? writeHandlerFiles(results, answers) : undefined;
  const busy = busyWarning(otherSuites());
  if (busy) err.write(`⚠ ${busy}\n`);
  claimMachine();

  const injected = Object.entries(settings.injectCpu);
  if (injected.length > 0)
    err.write(`injected per-message overhead (test knob): ${injected.map(([m, us]) => `${m} +${us} µs`).join(', ')}\n`);
  const needsCpuRate = injected.length > 0 || plan.workloads.some((w) => w.work.startsWith('cpu'));
  const cpuRate = needsCpuRate ? await cpuRateFor(settings, found, env, host, splits, results.suiteId) : undefined;

  // --against: the base's build (made once per commit), measured beside the working tree in the same rounds.
  const build =
    settings.against !== undefined && !handlerBase
      ? await prepareBase(settings.against, (line) => err.write(`${line}\n`))
      : undefined;
  const base: Comparison | undefined = build
    ? { kind: 'build', build, describe: build.describe }
    : handlerBase
      ? { kind: 'handler', handler: handlerBase, describe: handlerBase.describe }
      : undefined;
  if (base) {
    const dirty = env.gitDirty ? ' with uncommitted changes (measured as it is)' : '';
    err.write(
      base.kind === 'build'
        ? `against ${base.describe}: base built in ${base.build.root}; head is the working tree at ${env.gitCommit}${dirty}\n`
        : `against ${base.describe}: the handler at REF (${base.handler.module}) beside the working tree's, in the same servers\n`,
    );
    if (settings.alternateSec > 0 && !settings.skipTiming) {
      const { windows, windowSec } = blockWindows(settings.durationSec, settings.alternateSec);
      err.write(
        `each round runs a cell's two servers together, taking turns: ${windows} window(s) of ${windowSec.toFixed(2)} s a side (--alternate 0: one window each)\n`,
      );
    }
  }
  if (!base && settings.alternateSec > 0 && !settings.skipTiming) {
    const { windows, windowSec } = blockWindows(settings.durationSec, settings.alternateSec);
    err.write(
      `each round runs a row's models together, taking turns: ${windows} window(s) of ${windowSec.toFixed(2)} s each, judged as pairs (--alternate 0: a server started for every run)\n`,
    );
  }
  // The runs every consumer needs: the verdict's, and the gate's (--against, or a saved --baseline): a gate never
  // fails identical code for want of runs the planner could have asked for.
  const verdictRuns = verdictPlanner({
    references: MODELS.filter((m) => m.runtime === 'native').map((m) => m.name),
    margin: settings.marginPercent / 100,
  });
  const planner = allPlanners(
    base ? comparisonPlanner({ thresholdPercent: settings.thresholdPercent }) : verdictRuns,
    ...(found.baseline
      ? [
          comparisonPlanner({
            thresholdPercent: settings.thresholdPercent,
            baseline: found.baseline,
            countedLater: settings.countRuns > 0,
          }),
        ]
      : []),
    // A suite saved as a baseline serves a gate later: enough runs a cell for it to judge by.
    ...(settings.saveBaseline && !settings.skipTiming
      ? [baselinePlanner(Math.min(settings.maxRuns, CONFIRM_TIMING_RUNS))]
      : []),
  );

  // Each run is appended as it finishes; a write that fails (a full disk, a folder gone read-only) ends the suite.
  let kept = 0;
  let disturbedStop: string | undefined;
  const keepRecord = (r: RunRecord): void => {
    try {
      results.append(r);
      kept++;
    } catch (error) {
      throw writeFailure(error, results, kept);
    }
  };
  const groups = runContexts({
    settings,
    found,
    suiteId: results.suiteId,
    env,
    host,
    splits,
    ceilings,
    ...(cpuRate !== undefined ? { cpuRate } : {}),
    ...(base ? { base } : {}),
    ...(requests ? { requests } : {}),
  });
  const records = settings.skipTiming
    ? []
    : await runSuite(
        groups,
        {
          minRuns: settings.runs,
          maxRuns: settings.maxRuns,
          ...(budgetSec !== undefined ? { maxSec: budgetSec } : {}),
          signal: stopper.signal,
          ifDisturbed: settings.ifDisturbed,
        },
        {
          onRecord: keepRecord,
          onStop: (why) => err.write(`adaptive runs stopped: ${why}\n`),
          onDisturbed: (what, mode) => {
            err.write(`${disturbedLines(what, mode)}\n`);
            if (mode === 'stop') disturbedStop = what;
          },
          onProgress: (p) => progress.status(runLine(p)),
        },
        planner,
        runCell,
        settings.alternateSec > 0
          ? {
              turns: base ? 'sides' : 'models',
              run: (members, workload, runIndex, ctx, round) =>
                runBlock(members, workload, runIndex, ctx, round, settings.alternateSec),
            }
          : undefined,
      );
  if (settings.slo !== undefined && !stopper.signal.aborted && disturbedStop === undefined) {
    const timed = [...records];
    await runCapacityPhase(
      groups,
      timed,
      settings.slo,
      stopper.signal,
      {
        onRecord: (r) => {
          keepRecord(r);
          records.push(r);
        },
        status: (line) => progress.status(line),
        say: (line) => err.write(`${line}\n`),
      },
      { searches: settings.sloSearches },
    );
  }
  if (settings.countRuns > 0 && !stopper.signal.aborted && disturbedStop === undefined) {
    const cpus = Array.from({ length: env.cores }, (_, i) => String(i));
    err.write(
      `counting: ${settings.countRuns} callgrind run(s) per cell, ${countSlots(cpus.length)} cell(s) at a time on ${cpus.length} CPU(s) (counts do not mind the company)\n`,
    );
    const hooks = (what: string) => ({
      onRecord: keepRecord,
      onProgress: (r: RunRecord, done: number, total: number) => progress.status(countedLine(what, r, done, total)),
    });
    records.push(
      ...(await runCountedPass(groups, { runs: settings.countRuns, cpus, signal: stopper.signal }, hooks('counted'))),
    );
    // Both sides counted: a change beyond a threshold is confirmed in fresh processes before the gate believes it.
    const confirm = base && !stopper.signal.aborted ? cellsToConfirm(records) : new Set<string>();
    if (confirm.size > 0) {
      err.write(
        `confirming ${confirm.size} cell(s) whose counts changed beyond their threshold (${[...confirm].join(', ')}): ${CONFIRM_PROCESSES} processes a side, judged by their medians\n`,
      );
      records.push(
        ...(await runCountJobs(
          confirmationJobs(groups, records, confirm),
          { cpus, signal: stopper.signal },
          hooks('confirming'),
        )),
      );
    }
  }
  const interrupted = stoppedBy !== undefined || disturbedStop !== undefined;
  const how = stoppedBy !== undefined ? `was interrupted (${stoppedBy})` : 'stopped';
  const stopNote = interrupted
    ? `⚠ the suite ${how} after ${records.filter((r) => r.status === 'ok').length} completed run(s)${disturbedStop ? ` — ${disturbedStop}` : ''}: cells with fewer runs are inconclusive and rows with an unmeasured model name no winner`
    : undefined;
  if (!interrupted && settings.saveBaseline)
    err.write(`saved as the baseline: ${writeBaseline(settings.out, records)}\n`);
  const [baseRecords, headRecords] = base ? splitSides(records) : [found.baseline, records];
  const gate =
    !interrupted && baseRecords
      ? {
          result: runGate(baseRecords, headRecords, {
            thresholdPercent: settings.thresholdPercent,
            alpha: DEFAULTS.alpha,
            allowInconclusive: settings.allowInconclusive,
          }),
          thresholdPercent: settings.thresholdPercent,
          heading: base
            ? `Against ${base.describe} (both measured in this session, the same rounds)`
            : 'Against the baseline',
        }
      : undefined;
  // Rendering charts takes a moment; an interrupted suite leaves them to `npm run report`.
  progress.done();
  const rendered = await renderSuite(results, records, {
    plain: !process.stdout.isTTY,
    wide: settings.wide,
    ...(process.stdout.isTTY ? { width: process.stdout.columns } : {}),
    margin: settings.marginPercent / 100,
    workloads: plan.workloads,
    resultsRoot: settings.out,
    charts: !interrupted,
    ...(stopNote ? { stopNote } : {}),
    ...(gate ? { gate } : {}),
  });
  process.stdout.write(`\n${rendered.text}`);
  if (rendered.chartError) err.write(`charts not written: ${rendered.chartError}\n`);
  // The progress line's wrapping ended with the runs; the last words are wrapped here (they were 127 characters).
  const errWidth = err.isTTY ? err.columns : undefined;
  err.write(
    `\n${wrap(`wrote ${results.dir}/ (records.jsonl, summary.json, report.md, report.html, results.csv${rendered.charts > 0 ? `, ${rendered.charts} chart(s) in charts/` : ''})`, errWidth, '    ')}\n`,
  );
  const failures = measuredFailures(rendered.judgement);
  for (const f of failures) err.write(`${wrap(`✗ ${f}`, errWidth, '  ')}\n`);
  if (stoppedBy !== undefined) process.exitCode = SIGNAL_EXIT[stoppedBy];
  else if (disturbedStop !== undefined || gate?.result.fails || failures.length > 0) process.exitCode = 1;
}

/**
 * The handler's requests and answers as the drivers read them, one file per distinct set in the suite's folder (kept:
 * what the runs were checked against), by workload.
 */
function writeHandlerFiles(
  results: ResultsDir,
  answers: ReadonlyMap<Workload, HandlerRequests>,
): Map<string, HandlerFile> {
  const files = new Map<HandlerRequests, HandlerFile>();
  const out = new Map<string, HandlerFile>();
  for (const [w, set] of answers) {
    let file = files.get(set);
    if (!file) {
      const name = `requests-${files.size + 1}.bin`;
      writeRequestsFile(path.join(results.dir, name), set.pairs);
      file = { file: path.join(results.dir, name), verify: set.verify, count: set.pairs.length };
      files.set(set, file);
      const how =
        set.verify === 'bytes'
          ? 'byte for byte'
          : set.verify === 'length'
            ? 'by length only (the handler says so)'
            : 'not at all (the handler says so)';
      process.stderr.write(
        `handler ${set.module}: ${set.pairs.length} request(s) answered in this process; answers checked ${how}: ${name}\n`,
      );
    }
    out.set(requestsKey(w), file);
  }
  return out;
}

/** The suite's results folder, made and checked for `bytes` of room; a file-system failure is a usage error here. */
function preflightResults(root: string, suiteId: string, bytes: number): ResultsDir {
  try {
    return beforeAnythingRuns(() => ResultsDir.create(root, suiteId, bytes));
  } catch (error) {
    if (error instanceof SetupError) error.message += ' (--out chooses another folder)';
    throw error;
  }
}

/** A write that failed while measuring: what failed, and where the runs measured before it are. */
function writeFailure(error: unknown, results: ResultsDir, kept: number): Error {
  if (!isFileSystemError(error)) return error as Error;
  return new Error(
    `${(error as Error).message}; the suite stopped. ${kept} run(s) measured before it are in ${results.recordsFile} (npm run report -- ${results.dir} renders them once the folder can be written)`,
  );
}

// Run as a command (`npm run bench`, or `npx conbench` through a bin symlink: hence the real path), not when imported.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]))
  runCommand(main, { usage: USAGE, onStop: stopSuite });
