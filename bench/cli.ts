/**
 * `npm run bench [-- options]`: runs the workload matrix against the registered models and prints one table per
 * workload and the verdict; writes records, Markdown, CSV and summary JSON under results/<suite>/.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, oneOf, list, runMain, UsageError } from './cli-args.js';
import { FAMILIES, PROFILES, type Workload, type WorkloadParams } from './workloads.js';
import { expandFamily, planCells, type Plan } from './matrix.js';
import { MODELS, findModel, type Model } from '../servers/registry.js';
import { PROTOCOLS } from '../servers/protocol.js';
import { parseWorkSpec } from '../servers/work.js';
import { captureEnvironment, openFilesLimit } from './env.js';
import { cpuSplit, type CpuSplit } from './pinning.js';
import { estimateSeconds, orderRuns, runSuite } from './orchestrator.js';
import { applyDriverCeiling, ceilingSubject, httpCeilingTarget, isCeiling } from './ceiling.js';
import type { CellSubject } from './run-cell.js';
import { newSuiteId, readRecords, ResultsDir } from './results-dir.js';
import { compareSuites, pickReference } from './compare.js';
import { compareTable } from '../scripts/format/compare.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { summarizeRecords, type CellSummary } from './aggregate.js';
import { formatCpuPerMsg, groupByWorkload, workloadTable } from '../scripts/format/table.js';
import { markdownReport } from '../scripts/format/markdown.js';
import { verdictTable } from '../scripts/format/verdict.js';
import { verdict, type VerdictRow } from './verdict.js';
import { renderSvg, throughputSpec, verdictSpec } from '../scripts/format/charts.js';
import { recordsToCsv } from '../scripts/format/csv.js';
import { formatRate, parseSize } from '../scripts/format/units.js';
import { DRIVERS, defaultDriver } from '../clients/drivers.js';
import type { PinMode, RunRecord } from './record.js';
import type { ConnectionPattern } from '../clients/tcp.js';
import { compiled } from '../servers/paths.js';

const USAGE = `usage: npm run bench [-- options]

Starts a fresh server per (model × workload) cell, drives it with a verifying load client, repeats and
interleaves the runs, and prints one table per workload plus a verdict. Results go to results/<suite>/.

Choosing what runs
  --profile NAME       ${PROFILES.map((p) => `${p.name} (${p.description})`).join('; ')}. Default quick.
  --model A,B          only these models (default: all ${MODELS.length}: ${MODELS.map((m) => m.name).join(', ')})
  --filter TEXT        only workloads whose name contains TEXT (comma-separated: any of them)
  --protocol P         tcp (default), http or udp: runs the profile's workloads over that protocol
  --list               list models, workload families and profiles, then exit
  --dry-run            print the plan (cells, runs, estimated time) and exit

Changing workloads (apply to every workload of the profile; a swept axis becomes fixed)
  --connections N      concurrent connections
  --size S             payload bytes: 64, 4k, 64KiB, 1MiB
  --work SPEC          handler work: none, cpu:<µs>, block:<ms>, async:<ms>
  --in-flight D        frames in flight per connection (closed loop)
  --pattern P          persistent or connect-per-request
  --rate R             open loop at R frames/s in total
  --driver NAME        load driver: ${DRIVERS.map((d) => d.name).join(', ')}
  --set KEY=VALUE      any axis: connections, inFlight, size, work, pattern, rate, pin, driver (repeatable)

Measuring
  --runs R             repetitions per cell (default: the profile's, 3)
  --duration SEC       measured seconds per run (default: the profile's)
  --warmup SEC         discarded warmup seconds per run (default: the profile's)
  --pin MODE           separate (server and client on different CPUs), shared (server on all CPUs), off;
                       default: each workload's own (separate, or shared for CPU/blocking work)
  --workers N          workers/children/threads for parallel models (default: the CPUs the server is given)
  --max-children N     fork-per-connection's cap on live children (default 32)
  --timeout MS         a message unanswered this long is a timeout (default 5000)
  --skip-ceiling       HTTP: do not measure the driver's own ceiling (nginx, or event-loop GET)
  --out DIR            results root (default results)

Regression gate
  --baseline PATH      compare every cell with a saved suite (folder or records.jsonl); exit 1 when a cell's
                       throughput dropped significantly (Welch p < 0.05) by more than --threshold
  --threshold PCT      regression threshold in percent (default 10)
  --save-baseline      also write this suite's records to <out>/baseline/records.jsonl
  --help               this text`;

interface Settings {
  plan: Plan;
  runs: number;
  warmupSec: number;
  durationSec: number;
  timeoutMs: number;
  workers?: number;
  maxChildren?: number;
  out: string;
  dryRun: boolean;
  profile: string;
  baseline?: RunRecord[];
  thresholdPercent: number;
  saveBaseline: boolean;
  skipCeiling: boolean;
}

const SET_KEYS: Record<string, keyof WorkloadParams> = {
  connections: 'connections',
  inflight: 'inFlight',
  'in-flight': 'inFlight',
  size: 'payloadBytes',
  payload: 'payloadBytes',
  payloadbytes: 'payloadBytes',
  work: 'work',
  pattern: 'pattern',
  rate: 'rate',
  pin: 'pin',
  driver: 'driver',
  protocol: 'protocol',
};

/** Validates one axis value typed by the user and converts it. */
export function parseAxis(key: keyof WorkloadParams, text: string, flag: string): WorkloadParams[keyof WorkloadParams] {
  switch (key) {
    case 'connections':
      return positiveInteger(flag, text, 1, 100_000);
    case 'inFlight':
      return positiveInteger(flag, text, 1, 10_000);
    case 'payloadBytes': {
      const size = parseSize(text);
      if (size === undefined || size > 64 * 1024 * 1024) throw new UsageError(`--${flag} must be a byte count up to 64MiB such as 64, 4k or 1MiB (got "${text}")`);
      return size;
    }
    case 'work':
      parseWorkSpec(text);
      return text;
    case 'pattern':
      return oneOf<ConnectionPattern>(flag, text, ['persistent', 'connect-per-request'], 'persistent');
    case 'rate':
      return positiveNumber(flag, text, 1);
    case 'pin':
      return oneOf<PinMode>(flag, text, ['separate', 'shared', 'off'], 'separate');
    case 'driver':
      return oneOf(flag, text, DRIVERS.map((d) => d.name), 'tcp');
    case 'protocol':
      return oneOf(flag, text, PROTOCOLS, 'tcp');
  }
}

export function settingsFromArgs(argv: string[]): Settings | 'help' | 'list' {
  const { values } = parseFlags(argv, {
    profile: { type: 'string' },
    model: { type: 'string' },
    filter: { type: 'string' },
    protocol: { type: 'string' },
    list: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    connections: { type: 'string' },
    size: { type: 'string' },
    work: { type: 'string' },
    'in-flight': { type: 'string' },
    pattern: { type: 'string' },
    rate: { type: 'string' },
    driver: { type: 'string' },
    set: { type: 'string', multiple: true },
    runs: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    pin: { type: 'string' },
    workers: { type: 'string' },
    'max-children': { type: 'string' },
    timeout: { type: 'string' },
    out: { type: 'string' },
    baseline: { type: 'string' },
    threshold: { type: 'string' },
    'save-baseline': { type: 'boolean' },
    'skip-ceiling': { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  if (values.list) return 'list';
  const profileName = values.profile ?? 'quick';
  const profile = PROFILES.find((p) => p.name === profileName);
  if (!profile) throw new UsageError(`--profile must be one of ${PROFILES.map((p) => p.name).join(', ')} (got "${profileName}")`);

  const overrides: Partial<Record<keyof WorkloadParams, unknown>> = {};
  const direct: [string, keyof WorkloadParams][] = [
    ['connections', 'connections'],
    ['size', 'payloadBytes'],
    ['work', 'work'],
    ['in-flight', 'inFlight'],
    ['pattern', 'pattern'],
    ['rate', 'rate'],
    ['driver', 'driver'],
    ['pin', 'pin'],
    ['protocol', 'protocol'],
  ];
  for (const [flag, key] of direct) {
    const text = (values as Record<string, unknown>)[flag];
    if (typeof text === 'string') overrides[key] = parseAxis(key, text, flag);
  }
  for (const assignment of values.set ?? []) {
    const m = /^([A-Za-z-]+)=(.+)$/.exec(assignment);
    const key = m ? SET_KEYS[m[1]!.toLowerCase()] : undefined;
    if (!m || !key) {
      throw new UsageError(`--set takes KEY=VALUE with KEY one of ${[...new Set(Object.keys(SET_KEYS))].join(', ')} (got "${assignment}")`);
    }
    overrides[key] = parseAxis(key, m[2]!, `set ${m[1]}`);
  }
  // A protocol change brings its default driver unless one was named.
  if (overrides.protocol !== undefined && overrides.driver === undefined) overrides.driver = defaultDriver(overrides.protocol as WorkloadParams['protocol']);
  const driverName = overrides.driver as string | undefined;
  if (driverName !== undefined) {
    const driver = DRIVERS.find((d) => d.name === driverName)!;
    const protocol = (overrides.protocol as string | undefined) ?? 'tcp';
    if (driver.protocol !== protocol) throw new UsageError(`--driver ${driverName} drives ${driver.protocol}, not ${protocol}`);
  }

  let workloads: Workload[] = profile.families.flatMap((name) => expandFamily(FAMILIES.find((f) => f.name === name)!, overrides as Partial<WorkloadParams>));
  if (values.filter !== undefined) {
    const needles = list('filter', values.filter);
    workloads = workloads.filter((w) => needles.some((n) => w.name.includes(n)));
    if (workloads.length === 0) throw new UsageError(`--filter "${values.filter}" matches no workload of profile ${profile.name}; see --list`);
  }
  let models: readonly Model[] = MODELS;
  if (values.model !== undefined) models = list('model', values.model).map(findModel);

  const openFiles = openFilesLimit();
  const plan = planCells(workloads, models, openFiles !== undefined ? { openFiles } : {});
  if (plan.cells.length === 0) {
    const reasons = [...new Set(plan.excluded.map((e) => e.reason))].join('; ');
    throw new UsageError(`nothing to run: every cell was excluded (${reasons})`);
  }
  return {
    plan,
    runs: positiveInteger('runs', values.runs, profile.runs, 1000),
    warmupSec: nonNegativeNumber('warmup', values.warmup, profile.warmupSec),
    durationSec: positiveNumber('duration', values.duration, profile.durationSec),
    timeoutMs: positiveNumber('timeout', values.timeout, 5000),
    ...(values.workers !== undefined ? { workers: positiveInteger('workers', values.workers, 1, 256) } : {}),
    ...(values['max-children'] !== undefined ? { maxChildren: positiveInteger('max-children', values['max-children'], 32, 4096) } : {}),
    out: values.out ?? 'results',
    dryRun: values['dry-run'] === true,
    profile: profile.name,
    // Read now, so a bad baseline fails before minutes of measuring.
    ...(values.baseline !== undefined ? { baseline: readRecords(values.baseline) } : {}),
    thresholdPercent: positiveNumber('threshold', values.threshold, 10),
    saveBaseline: values['save-baseline'] === true,
    skipCeiling: values['skip-ceiling'] === true,
  };
}

function listEverything(): string {
  const lines = ['Models:'];
  for (const m of MODELS) {
    const a = m.available();
    lines.push(`  ${m.name.padEnd(20)} ${m.summary}${a.ok ? '' : ` [unavailable: ${a.reason}]`} (${m.protocols.join(', ')})`);
  }
  lines.push('', 'Workload families:');
  for (const f of FAMILIES) {
    const names = expandFamily(f).map((w) => w.name);
    lines.push(`  ${f.name.padEnd(20)} ${f.description}`, `  ${''.padEnd(20)} → ${names.join(', ')}`);
  }
  lines.push('', 'Profiles:');
  for (const p of PROFILES) lines.push(`  ${p.name.padEnd(20)} ${p.description} (${p.runs} runs × ${p.warmupSec}+${p.durationSec} s)`);
  lines.push('', 'Drivers:');
  for (const d of DRIVERS) {
    const a = d.present();
    lines.push(`  ${d.name.padEnd(20)} ${d.protocol}${a.ok ? '' : ` [missing: ${a.reason}]`}`);
  }
  return lines.join('\n');
}

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
    const ceiling = httpCeilingTarget(settings.workers ?? split.serverCpuCount);
    const extra = (w: Workload): CellSubject[] => (w.protocol === 'http' && !settings.skipCeiling ? [ceilingSubject(ceiling)] : []);
    return { split, order: orderRuns(sub, runs, extra), ceiling: sub.workloads.some((w) => extra(w).length > 0) ? ceiling : undefined };
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
  writeReports(results, env, splitText, cells, records, verdictReport(cells, plan.workloads, true));
  const charts = await writeCharts(results, cells).catch((error: Error) => {
    err.write(`charts not written: ${error.message}\n`);
    return 0;
  });
  err.write(`\nwrote ${results.dir}/ (records.jsonl, summary.json, report.md, results.csv, ${charts} chart(s) in charts/)\n`);
  if (settings.saveBaseline) {
    const dir = path.join(settings.out, 'baseline');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    err.write(`saved as the baseline: ${dir}/records.jsonl\n`);
  }
  if (settings.baseline) {
    const reference = pickReference(settings.baseline, records, MODELS.filter((m) => m.runtime === 'native').map((m) => m.name));
    const report = compareSuites(settings.baseline, records, { threshold: settings.thresholdPercent / 100, alpha: 0.05, ...(reference ? { reference } : {}) });
    process.stdout.write(`\nAgainst the baseline\n${compareTable(report, settings.thresholdPercent, plain)}\n`);
    results.write('compare.txt', compareTable(report, settings.thresholdPercent, true) + '\n');
    if (report.regressions.length > 0) process.exitCode = 1;
  }
  if (interrupted) process.exitCode = 130;
}

/** The verdict rows and the model columns (registry order, then ceilings) for a set of cells. */
function verdictOf(cells: readonly CellSummary[]): { rows: VerdictRow[]; models: string[] } {
  const references = [...MODELS.filter((m) => m.runtime === 'native').map((m) => m.name), ...new Set(cells.map((c) => c.model).filter(isCeiling))];
  const present = new Set(cells.map((c) => c.model));
  const models = [...MODELS.map((m) => m.name).filter((m) => present.has(m)), ...[...present].filter(isCeiling)];
  return { rows: verdict(cells, { references }), models };
}

/** The verdict matrix, then one line per workload: who won, and what the designs predict. */
export function verdictReport(cells: readonly CellSummary[], workloads: readonly Workload[], plain = false): string {
  const { rows, models } = verdictOf(cells);
  const lines = rows.map((row) => {
    const predicts = workloads.find((w) => w.name === row.workload)?.predicts;
    const won = row.winners.length > 0 ? row.winners.join(' ≈ ') : row.clientBound ? 'no winner: the load client saturated at a rate no ranked model beat' : 'nothing ranked';
    // When the client set the pace, the servers' CPU cost per message still tells them apart.
    const costs = row.clientBound
      ? cells
          .filter((c) => c.workload === row.workload && c.params.protocol === row.protocol && Number.isFinite(c.serverCpuUsPerMsg) && !isCeiling(c.model))
          .sort((a, b) => a.serverCpuUsPerMsg - b.serverCpuUsPerMsg)
          .map((c) => `${c.model} ${formatCpuPerMsg(c.serverCpuUsPerMsg)}`)
      : [];
    const cost = costs.length > 0 ? `; server CPU µs per message, cheapest first: ${costs.join(', ')}` : '';
    return `  ${row.workload}: ${won}${cost}${predicts ? ` — predicted: ${predicts}` : ''}`;
  });
  return `${verdictTable(rows, models, plain)}\n${lines.join('\n')}`;
}

/** One throughput chart per workload and the verdict heatmap, as SVG. Returns how many were written. */
async function writeCharts(results: ResultsDir, cells: readonly CellSummary[]): Promise<number> {
  let n = 0;
  for (const [name, group] of groupByWorkload(cells)) {
    results.write(`charts/throughput-${name.replace(/[^A-Za-z0-9.-]+/g, '_')}.svg`, await renderSvg(throughputSpec(name, group)));
    n++;
  }
  const { rows, models } = verdictOf(cells);
  results.write('charts/verdict.svg', await renderSvg(verdictSpec(rows, models)));
  return n + 1;
}

function writeReports(results: ResultsDir, env: RunRecord['env'], split: string, cells: CellSummary[], records: RunRecord[], verdictText: string): void {
  results.write('summary.json', JSON.stringify({ suiteId: results.suiteId, env, split, cells }, null, 2) + '\n');
  results.write('report.md', markdownReport(`conbench ${results.suiteId}`, env, split, cells, verdictText));
  results.write('results.csv', recordsToCsv(records));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) runMain(main, USAGE);
