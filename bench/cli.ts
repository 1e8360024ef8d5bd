/**
 * `npm run bench [-- options]`: runs the workload matrix against the registered models and prints one table per
 * workload and the verdict; writes records, Markdown, CSV, summary JSON and charts under results/<suite>/.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMain } from '../lib/cli-args.js';
import type { Workload } from './workloads.js';
import type { Plan } from './matrix.js';
import { MODELS } from '../servers/registry.js';
import { captureEnvironment } from './env.js';
import { cpuSplit, type CpuSplit } from './pinning.js';
import { estimateSeconds, orderRuns, runSuite } from './orchestrator.js';
import { applyDriverCeiling, ceilingSubject, httpCeilingTarget } from './ceiling.js';
import type { CellSubject } from './run-cell.js';
import { newSuiteId, ResultsDir } from './results-dir.js';
import { compareSuites, pickReference } from './compare.js';
import { compareTable } from '../lib/format/compare.js';
import { summarizeRecords } from './aggregate.js';
import { groupByWorkload, workloadTable } from '../lib/format/table.js';
import { formatRate } from '../lib/format/units.js';
import { isCeiling, type PinMode, type RunRecord } from './record.js';
import { compiled } from '../servers/paths.js';
import { listEverything, settingsFromArgs, USAGE } from './settings.js';
import { saveBaseline, verdictReport, writeCharts, writeReports } from './report.js';
import { costModelReport } from './cost-report.js'; // issue 11

export { settingsFromArgs };

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Each workload's own split (separate or shared), unless --pin overrode it. */
function splitsFor(plan: Plan, tasksetAvailable: boolean): Map<PinMode, CpuSplit> {
  const splits = new Map<PinMode, CpuSplit>();
  for (const w of plan.workloads) if (!splits.has(w.pin)) splits.set(w.pin, cpuSplit(w.pin, tasksetAvailable));
  return splits;
}

function calibrateCpuRate(cpus: string | undefined): number {
  const entry = compiled('servers/calibrate.ts');
  const [command, args] = cpus !== undefined ? ['taskset', ['-c', cpus.split(/[,-]/)[0]!, process.execPath, entry]] : [process.execPath, [entry]];
  const r = spawnSync(command as string, args as string[], { encoding: 'utf8' });
  const rate = Number(r.stdout.trim());
  if (r.status !== 0 || !(rate > 0)) throw new Error(`cpu work calibration failed: ${r.stderr.trim() || r.stdout.trim()}`);
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
  const { plan, runs, warmupSec, durationSec } = settings;
  const env = captureEnvironment();
  const splits = splitsFor(plan, env.taskset);
  // One schedule per CPU split (workloads of a split run together), each with the driver ceiling where it applies.
  const schedules = [...splits].map(([mode, split]) => {
    const sub: Plan = { ...plan, workloads: plan.workloads.filter((w) => w.pin === mode), cells: plan.cells.filter((c) => c.workload.pin === mode) };
    const measuresCeiling = (w: Workload): boolean => w.protocol === 'http' && !settings.skipCeiling;
    // Looked up (is nginx installed?) only when some workload needs it.
    const ceiling = sub.workloads.some(measuresCeiling) ? httpCeilingTarget(settings.workers ?? split.serverCpuCount) : undefined;
    const extra = (w: Workload): CellSubject[] => (ceiling && measuresCeiling(w) ? [ceilingSubject(ceiling)] : []);
    return { split, order: orderRuns(sub, runs, extra), ceiling };
  });
  const total = schedules.reduce((n, s) => n + s.order.length, 0);
  const estimate = estimateSeconds(total, warmupSec, durationSec);
  const err = process.stderr;
  err.write(
    `conbench ${settings.profile}: ${plan.workloads.length} workload(s) × ${new Set(plan.cells.map((c) => c.model.name)).size} model(s) = ${plan.cells.length} cells × ${runs} runs (${warmupSec}+${durationSec} s each); about ${formatDuration(estimate)}\n`,
  );
  for (const [mode, split] of splits) err.write(`CPU split (${mode}): ${split.describe}\n`);
  for (const s of schedules) if (s.ceiling) err.write(`driver ceiling measured against ${s.ceiling.describe}; rows within 20% of it are marked client-bound\n`);
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

  const needsCpuRate = plan.workloads.some((w) => w.work.startsWith('cpu'));
  const serverCpus = splits.values().next().value?.server;
  const cpuRate = needsCpuRate ? calibrateCpuRate(serverCpus) : undefined;
  if (cpuRate !== undefined) err.write(`cpu work calibrated: ${cpuRate.toFixed(1)} spin iterations per µs (one rate for every model)\n`);

  const suiteId = newSuiteId();
  const results = new ResultsDir(settings.out, suiteId);
  err.write(`records: ${results.recordsFile}\n`);

  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    err.write('\ninterrupted: finishing the current run, then writing what was measured (Ctrl-C again to quit now)\n');
  });

  const records: RunRecord[] = [];
  // Runs grouped by pin mode, so each group gets its own split.
  for (const { split, order } of schedules) {
    const done = records.length;
    const got = await runSuite(
      order,
      {
        suiteId,
        env,
        split,
        warmupSec,
        durationSec,
        timeoutMs: settings.timeoutMs,
        ...(settings.workers !== undefined ? { workers: settings.workers } : {}),
        ...(settings.maxChildren !== undefined ? { maxChildren: settings.maxChildren } : {}),
        ...(cpuRate !== undefined ? { cpuRate } : {}),
      },
      {
        onRecord: (r) => results.append(r),
        shouldStop: () => interrupted,
        onProgress: (p) => {
          const r = p.record;
          const what = r.status === 'ok' && r.result ? `${formatRate(r.result.msgsPerSec)} msgs/s${r.result.client.saturated ? ' (client saturated)' : ''}` : `${r.status}: ${r.reason}`;
          const remaining = p.etaSec + ((total - done - p.total) * (warmupSec + durationSec + 1));
          err.write(`[${String(done + p.done).padStart(String(total).length)}/${total} ETA ${formatDuration(remaining)}] ${r.workload} · ${r.model} · run ${r.run + 1}/${runs}: ${what}\n`);
        },
      },
    );
    records.push(...got);
    if (interrupted) break;
  }

  // Ceiling rows go last in each table; rows near the ceiling are marked client-bound.
  const cells = applyDriverCeiling(summarizeRecords(records)).sort((a, b) => Number(isCeiling(a.model)) - Number(isCeiling(b.model)));
  const splitText = [...splits].map(([mode, s]) => `${mode}: ${s.describe}`).join('; ');
  const plain = !process.stdout.isTTY; // no colour codes in files and pipes
  const tables = [...groupByWorkload(cells)].map(([name, group]) => workloadTable(name, group, plain)).join('\n\n');
  process.stdout.write(`\n${tables}\n\nCPU split — ${splitText}\n`);
  process.stdout.write(`\nVerdict\n${verdictReport(cells, plan.workloads, plain)}\n`);
  // ── cost model (issue 11): predicted beside measured, from the newest `npm run bench:micro` records ──
  const costModel = (plainText: boolean): string => costModelReport(cells, settings.out, { env, warmupSec, windowSec: durationSec, plain: plainText });
  process.stdout.write(`\n${costModel(plain)}\n`);
  results.write('cost-model.txt', `${costModel(true)}\n`);
  // ── end cost model ──
  writeReports(results, env, splitText, cells, records, verdictReport(cells, plan.workloads, true));
  const charts = await writeCharts(results, cells).catch((error: Error) => {
    err.write(`charts not written: ${error.message}\n`);
    return 0;
  });
  err.write(`\nwrote ${results.dir}/ (records.jsonl, summary.json, report.md, results.csv, ${charts} chart(s) in charts/)\n`);
  if (settings.saveBaseline) err.write(`saved as the baseline: ${saveBaseline(settings.out, records)}\n`);
  if (settings.baseline) {
    const reference = pickReference(settings.baseline, records, MODELS.filter((m) => m.runtime === 'native').map((m) => m.name));
    const report = compareSuites(settings.baseline, records, { threshold: settings.thresholdPercent / 100, alpha: 0.05, ...(reference ? { reference } : {}) });
    process.stdout.write(`\nAgainst the baseline\n${compareTable(report, settings.thresholdPercent, plain)}\n`);
    results.write('compare.txt', compareTable(report, settings.thresholdPercent, true) + '\n');
    if (report.regressions.length > 0 || report.compared === 0) process.exitCode = 1;
  }
  if (interrupted) process.exitCode = 130;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) runMain(main, USAGE);
