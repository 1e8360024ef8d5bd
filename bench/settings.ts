/**
 * The bench command line: flags → Settings (profile, workloads with overrides, models, plan, measuring options).
 * Every value is checked here, so a bad flag fails before anything runs.
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, oneOf, list, UsageError } from '../lib/cli-args.js';
import { FAMILIES, PROFILES, type Workload, type WorkloadParams } from './workloads.js';
import { expandFamily, planCells, type Plan } from './matrix.js';
import { MODELS, findModel, type Model } from '../servers/registry.js';
import { MAX_PAYLOAD_BYTES, PROTOCOLS } from '../servers/protocol.js';
import { parseWorkSpec } from '../servers/work.js';
import { hasCommand, openFilesLimit } from './env.js';
import { readRecords } from './results-dir.js';
import { parseSize } from '../lib/format/units.js';
import { DRIVERS, defaultDriver } from '../clients/drivers.js';
import type { PinMode, RunRecord } from './record.js';
import type { ConnectionPattern } from '../clients/tcp.js';
import { DEFAULT_MAX_CHILDREN } from '../servers/types.js';

export const USAGE = `usage: npm run bench [-- options]

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

export interface Settings {
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
      if (size === undefined || size > MAX_PAYLOAD_BYTES) throw new UsageError(`--${flag} must be a byte count up to 64MiB such as 64, 4k or 1MiB (got "${text}")`);
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
    ...(values['max-children'] !== undefined ? { maxChildren: positiveInteger('max-children', values['max-children'], DEFAULT_MAX_CHILDREN, 4096) } : {}),
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

export function listEverything(): string {
  const lines = ['Models:'];
  for (const m of MODELS) {
    const a = m.available();
    const not = Object.entries(m.whyNot ?? {})
      .filter(([p]) => !m.protocols.includes(p as never))
      .map(([p, why]) => `not ${p}: ${why}`);
    lines.push(`  ${m.name.padEnd(20)} ${m.summary}${a.ok ? '' : ` [unavailable: ${a.reason}]`}`);
    lines.push(`  ${''.padEnd(20)} serves ${m.protocols.join(', ')}${not.length > 0 ? `; ${not.join('; ')}` : ''}`);
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
  lines.push('', 'Tools found:');
  for (const tool of ['taskset', 'cc', 'wrk', 'nginx']) lines.push(`  ${tool.padEnd(20)} ${hasCommand(tool) ? 'yes' : 'no'}`);
  return lines.join('\n');
}

