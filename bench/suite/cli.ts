/**
 * `npm run bench [-- options]`: runs the workload matrix against the registered models and prints one table per
 * workload and the verdict; writes records, Markdown, CSV, summary JSON and charts under results/<suite>/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, SIGNAL_EXIT, type StopSignal } from '../../lib/lifecycle.js';
import { SetupError } from '../../lib/cli-args.js';
import { beforeAnythingRuns, isFileSystemError } from '../../lib/files.js';
import type { Plan } from '../data/matrix.js';
import { captureEnvironment } from '../run/env.js';
import type { CpuSplit } from '../run/pinning.js';
import { localHost, type ServerHost } from '../run/server-host.js';
import { connectAgent } from '../host/remote-host.js';
import { estimateSeconds, runSuite, type WorkloadGroup } from '../run/orchestrator.js';
import { modelSubject, runCell } from '../run/run-cell.js';
import { blockWindows, runBlock } from '../run/run-block.js';
import { newSuiteId, ResultsDir, writeBaseline } from '../data/records-file.js';
import { runGate } from '../judge/gate.js';
import { ceilingSubject, httpCeilingTarget, type CeilingTarget } from '../host/ceiling.js';
import { measuredCapacities } from '../run/capacities.js';
import type { Workload } from '../data/workloads.js';
import { renderSuite } from './render.js';
import { prepareBase } from './against.js';
import { busyWarning, claimMachine, otherSuites } from '../run/machine-claim.js';
import { allPlanners, comparisonPlanner, verdictPlanner } from '../run/plan.js';
import { MODELS, type Model } from '../../servers/registry.js';
import type { CellSubject } from '../run/run-cell.js';
import { countSlots, runCountedPass, runCountJobs } from '../run/counts.js';
import { cellsToConfirm, confirmationJobs, CONFIRM_PROCESSES } from '../run/confirm.js';
import { formatRate } from '../../lib/format/units.js';
import { METRICS } from '../data/metrics.js';
import { splitSides, type PinMode, type RunRecord } from '../data/record.js';
import { listEverything, settingsFromArgs, USAGE } from './settings.js';
import { DEFAULTS } from '../../lib/defaults.js';


function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Each workload's split, planned from its pin mode and whether any of its models serves on several CPUs (the driver
 * is sized for the fastest of them), unless --pin or the CPU flags overrode it.
 */
function splitsFor(plan: Plan, host: ServerHost): Map<Workload, CpuSplit> {
  const splits = new Map<Workload, CpuSplit>();
  for (const w of plan.workloads) splits.set(w, host.cpuSplit(w.pin, { parallel: plan.cells.some((c) => c.workload === w && c.model.parallel) }));
  return splits;
}

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
  const { plan, runs, warmupSec, durationSec } = settings;
  const env = captureEnvironment();
  const capacities = measuredCapacities(settings.out, env);
  const host = settings.agent ? await connectAgent(settings.agent) : localHost(env.taskset, capacities, settings.cpus);
  const splits = splitsFor(plan, host);
  const ceilings = new Map<Workload, CeilingTarget | undefined>();
  for (const [w, split] of splits) {
    // Looked up (is nginx installed?) only when some workload needs it.
    ceilings.set(w, w.protocol === 'http' && !settings.skipCeiling ? httpCeilingTarget(settings.workers ?? split.serverCpuCount, host.agent !== undefined) : undefined);
  }
  const err = process.stderr;
  const sides = settings.against !== undefined ? 2 : 1;
  const plannedCount = sides * plan.cells.length * runs + plan.workloads.filter((w) => ceilings.get(w)).length * runs;
  const estimate = estimateSeconds(plannedCount, warmupSec, durationSec);
  const adaptive = settings.maxRuns > runs ? `, then up to ${settings.maxRuns} runs per cell for the comparisons still undecided at ±${settings.marginPercent}%` : '';
  // Two sides measure twice the cells: the budget is the profile's per side.
  const maxSec = settings.maxSec !== undefined ? settings.maxSec * sides : undefined;
  const budget = maxSec !== undefined ? `; at most ${formatDuration(Math.max(maxSec, estimate))} of runs` : '';
  const cellsText = `conbench ${settings.profile}: ${plan.workloads.length} workload(s) × ${new Set(plan.cells.map((c) => c.model.name)).size} model(s) = ${plan.cells.length} cells${sides > 1 ? ' × 2 sides' : ''}`;
  err.write(
    settings.skipTiming
      ? `${cellsText}, counted only (no timed runs): ${settings.countRuns} callgrind process(es) a cell${sides > 1 ? ' and side' : ''}\n`
      : `${cellsText} × ${runs} runs (${warmupSec}+${durationSec} s each)${adaptive}; about ${formatDuration(estimate)} for the first ${runs}${budget}\n`,
  );
  for (const note of settings.notes) err.write(`note: ${note}\n`);
  // The plan, once per distinct split: where each side runs, with how many driver threads, and why.
  const planned = new Map<string, { split: CpuSplit; workloads: string[] }>();
  for (const [w, split] of splits) {
    const key = `${split.mode} ${split.describe}`;
    planned.set(key, { split, workloads: [...(planned.get(key)?.workloads ?? []), w.name] });
  }
  for (const { split, workloads } of planned.values()) err.write(`CPU split (${split.mode}; ${workloads.join(', ')}): ${split.describe}${split.why ? `\n  why: ${split.why}` : ''}\n`);
  for (const c of new Set(ceilings.values())) if (c) err.write(`driver ceiling measured against ${c.describe}; rows within 20% of it are marked client-bound\n`);
  if (plan.excluded.length > 0) {
    const byReason = new Map<string, number>();
    for (const e of plan.excluded) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    err.write(`excluded by rule: ${[...byReason].map(([r, n]) => `${n} × ${r}`).join('; ')}\n`);
  }
  if (settings.dryRun) {
    for (const w of plan.workloads) {
      const models = plan.cells.filter((c) => c.workload === w).map((c) => c.model.name);
      process.stdout.write(`${w.name}: ${models.join(', ')}\n`);
    }
    return;
  }

  // Before the first server starts: a results folder of this suite's own that can take its records (a bad --out, a
  // read-only or full disk is a usage error, found now rather than after minutes of measuring).
  const suiteId = newSuiteId();
  const results = preflightResults(settings.out, suiteId, plannedCount * Math.max(2, settings.maxRuns / runs) * RECORD_BYTES);
  results.writeParams({ suiteId: results.suiteId, marginPercent: settings.marginPercent, profile: settings.profile, argv: process.argv.slice(2), started: new Date().toISOString() });
  err.write(`records: ${results.recordsFile}\n`);
  const busy = busyWarning(otherSuites());
  if (busy) err.write(`⚠ ${busy}\n`);
  claimMachine();

  const injecting = Object.keys(settings.injectCpu).length > 0;
  if (injecting) err.write(`injected per-message overhead (test knob): ${Object.entries(settings.injectCpu).map(([m, us]) => `${m} +${us} µs`).join(', ')}\n`);
  const needsCpuRate = injecting || plan.workloads.some((w) => w.work.startsWith('cpu'));
  const cpuRate = needsCpuRate ? await host.calibrateCpuRate(splits.values().next().value!) : undefined;
  if (cpuRate !== undefined) err.write(`cpu work calibrated: ${cpuRate.toFixed(1)} spin iterations per µs (one rate for every model)\n`);

  // --against: the base's build (made once per commit), measured beside the working tree in the same rounds.
  const base = settings.against !== undefined ? await prepareBase(settings.against, (line) => err.write(`${line}\n`)) : undefined;
  if (base) {
    const dirty = env.gitDirty ? ' with uncommitted changes (measured as it is)' : '';
    err.write(`against ${base.describe}: base built in ${base.root}; head is the working tree at ${env.gitCommit}${dirty}\n`);
    if (settings.alternateSec > 0 && !settings.skipTiming) {
      const { windows, windowSec } = blockWindows(durationSec, settings.alternateSec);
      err.write(`each round runs a cell's two servers together, taking turns: ${windows} window(s) of ${windowSec.toFixed(2)} s a side (--alternate 0: one window each)\n`);
    }
  }
  const subjectsOf = (model: Model): CellSubject[] => {
    if (!base) return [modelSubject(model)];
    const head = modelSubject(model, { side: 'head' });
    return base.models.includes(model.name) ? [modelSubject(model, { side: 'base', root: base.root }), head] : [head];
  };
  const references = MODELS.filter((m) => m.runtime === 'native').map((m) => m.name);
  // The runs every consumer needs: the verdict's, and the gate's (--against, or a saved --baseline): a gate never
  // fails identical code for want of runs the planner could have asked for.
  const verdictRuns = verdictPlanner({ references, margin: settings.marginPercent / 100 });
  const countedLater = settings.countRuns > 0;
  const planner = base
    ? comparisonPlanner({ thresholdPercent: settings.thresholdPercent })
    : settings.baseline
      ? allPlanners(verdictRuns, comparisonPlanner({ thresholdPercent: settings.thresholdPercent, baseline: settings.baseline, countedLater }))
      : verdictRuns;

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

  const groups: WorkloadGroup[] = plan.workloads.map((workload) => {
    const split = splits.get(workload)!;
    const ceiling = ceilings.get(workload);
    return {
      workload,
      subjects: plan.cells.filter((c) => c.workload === workload).flatMap((c) => subjectsOf(c.model)),
      leading: ceiling ? [ceilingSubject(ceiling)] : [],
      ctx: {
        suiteId: results.suiteId,
        env,
        host,
        split,
        warmupSec,
        durationSec,
        timeoutMs: settings.timeoutMs,
        readyTimeoutSec: settings.readyTimeoutSec,
        stealLimitPercent: settings.stealLimitPercent,
        otherLoadLimitPercent: settings.otherLoadLimitPercent,
        keepEveryRun: settings.keepEveryRun,
        memoryCapBytes: settings.memoryCapBytes,
        plan: { minRuns: runs, maxRuns: settings.maxRuns, marginPercent: settings.marginPercent },
        signal: stopper.signal,
        ...(settings.workers !== undefined ? { workers: settings.workers } : {}),
        ...(settings.maxChildren !== undefined ? { maxChildren: settings.maxChildren } : {}),
        ...(cpuRate !== undefined ? { cpuRate } : {}),
        ...(injecting ? { injectCpu: settings.injectCpu } : {}),
      },
    };
  });

  const records = settings.skipTiming ? [] : await runSuite(
    groups,
    {
      minRuns: runs,
      maxRuns: settings.maxRuns,
      ...(maxSec !== undefined ? { maxSec } : {}),
      signal: stopper.signal,
      ifDisturbed: settings.ifDisturbed,
    },
    {
      onRecord: keepRecord,
      onStop: (why) => err.write(`adaptive runs stopped: ${why}\n`),
      onDisturbed: (what, mode) => {
        err.write(`\n⚠ ${what}\n  ${mode === 'stop' ? 'stopping the suite (exit 1); --if-disturbed keep measures on with such runs counted and marked' : 'measuring on (--if-disturbed keep): such runs now count, marked in the records and the tables'}\n`);
        if (mode === 'stop') disturbedStop = what;
      },
      onProgress: (p) => {
        const r = p.record;
        const what =
          r.status === 'ok' && r.result
            ? `${formatRate(r.result.msgsPerSec)} msgs/s${r.result.client.saturated ? ' (client saturated)' : ''}${r.discarded ? ` — set aside: ${r.discarded}` : ''}`
            : `${r.status}: ${r.reason}`;
        const count = p.adaptive ? `+${p.done - p.planned} adaptive, ≤ ${formatDuration(p.etaSec)} left` : `${String(p.done).padStart(String(p.planned).length)}/${p.planned} ETA ${formatDuration(p.etaSec)}`;
        err.write(`[${count}] ${r.workload} · ${r.model}${r.side ? ` (${r.side})` : ''} · run ${r.run + 1}: ${what}\n`);
      },
    },
    planner,
    runCell,
    base && settings.alternateSec > 0 ? (pair, workload, runIndex, ctx, round) => runBlock(pair, workload, runIndex, ctx, round, settings.alternateSec) : undefined,
  );
  if (settings.countRuns > 0 && !stopper.signal.aborted && disturbedStop === undefined) {
    const cpus = Array.from({ length: env.cores }, (_, i) => String(i));
    err.write(`counting: ${settings.countRuns} callgrind run(s) per cell, ${countSlots(cpus.length)} cell(s) at a time on ${cpus.length} CPU(s) (counts do not mind the company)\n`);
    const hooks = (what: string) => ({
      onRecord: keepRecord,
      onProgress: (r: RunRecord, done: number, total: number) => {
        // The metric's own value (the median window), so the progress line shows what the gate will compare.
        const instructions = r.status === 'ok' ? METRICS.instructionsPerMsg.ofRun(r) : undefined;
        const line = r.status === 'ok' && r.counts && instructions !== undefined ? `${Math.round(instructions)} instructions/msg (${r.counts.warmWindows} warm windows)${r.reason ? ` — ${r.reason}` : ''}` : `${r.status}: ${r.reason}`;
        err.write(`[${what} ${done}/${total}] ${r.workload} · ${r.model}${r.side ? ` (${r.side})` : ''} · run ${r.run + 1}: ${line}\n`);
      },
    });
    records.push(...(await runCountedPass(groups, { runs: settings.countRuns, cpus, signal: stopper.signal }, hooks('counted'))));
    // Both sides counted: a change beyond a threshold is confirmed in fresh processes before the gate believes it.
    const confirm = base && !stopper.signal.aborted ? cellsToConfirm(records) : new Set<string>();
    if (confirm.size > 0) {
      err.write(`confirming ${confirm.size} cell(s) whose counts changed beyond their threshold (${[...confirm].join(', ')}): ${CONFIRM_PROCESSES} processes a side, judged by their medians\n`);
      records.push(...(await runCountJobs(confirmationJobs(groups, records, confirm), { cpus, signal: stopper.signal }, hooks('confirming'))));
    }
  }
  const interrupted = stoppedBy !== undefined || disturbedStop !== undefined;
  const how = stoppedBy !== undefined ? `was interrupted (${stoppedBy})` : 'stopped';
  const stopNote = interrupted
    ? `⚠ the suite ${how} after ${records.filter((r) => r.status === 'ok').length} completed run(s)${disturbedStop ? ` — ${disturbedStop}` : ''}: cells with fewer runs are inconclusive and rows with an unmeasured model name no winner`
    : undefined;
  if (!interrupted && settings.saveBaseline) err.write(`saved as the baseline: ${writeBaseline(settings.out, records)}\n`);
  const gateOptions = { thresholdPercent: settings.thresholdPercent, alpha: DEFAULTS.alpha, allowInconclusive: settings.allowInconclusive };
  const [baseRecords, headRecords] = base ? splitSides(records) : [settings.baseline, records];
  const gate = !interrupted && baseRecords
    ? {
        result: runGate(baseRecords, headRecords, gateOptions),
        thresholdPercent: settings.thresholdPercent,
        heading: base ? `Against ${base.describe} (both measured in this session, the same rounds)` : 'Against the baseline',
      }
    : undefined;
  // Rendering charts takes a moment; an interrupted suite leaves them to `npm run report`.
  const rendered = await renderSuite(results, records, {
    plain: !process.stdout.isTTY,
    margin: settings.marginPercent / 100,
    workloads: plan.workloads,
    resultsRoot: settings.out,
    charts: !interrupted,
    ...(stopNote ? { stopNote } : {}),
    ...(gate ? { gate } : {}),
  });
  process.stdout.write(`\n${rendered.text}`);
  if (rendered.chartError) err.write(`charts not written: ${rendered.chartError}\n`);
  err.write(`\nwrote ${results.dir}/ (records.jsonl, summary.json, report.md, report.html, results.csv${rendered.charts > 0 ? `, ${rendered.charts} chart(s) in charts/` : ''})\n`);
  if (stoppedBy !== undefined) process.exitCode = SIGNAL_EXIT[stoppedBy];
  else if (disturbedStop !== undefined || gate?.result.fails) process.exitCode = 1;
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
  return new Error(`${(error as Error).message}; the suite stopped. ${kept} run(s) measured before it are in ${results.recordsFile} (npm run report -- ${results.dir} renders them once the folder can be written)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) runCommand(main, { usage: USAGE, onStop: stopSuite });
