/**
 * The bench command line: flags → Settings (profile, workloads with overrides, models, plan, measuring options).
 * Every value is checked here, so a bad flag fails before anything runs.
 */
import { parseFlags, positiveInteger, positiveNumber, nonNegativeNumber, oneOf, list, UsageError } from '../lib/cli-args.js';
import { FAMILIES, PROFILES, type Profile, type Workload, type WorkloadParams } from './workloads.js';
import { expandFamily, planCells, type Plan } from './matrix.js';
import { MODELS, findModel, type Model } from '../servers/registry.js';
import { MAX_PAYLOAD_BYTES, PROTOCOLS } from '../servers/protocol.js';
import { parseWorkSpec } from '../servers/work.js';
import { hasCommand, openFilesLimit } from './env.js';
import { readRecords } from './results-dir.js';
import { parseSize } from '../lib/format/units.js';
import { DRIVERS, defaultDriver, resolveDefaultDriver } from '../clients/drivers.js';
import type { PinMode, RunRecord } from './record.js';
import type { ConnectionPattern } from '../clients/tcp.js';
import { DEFAULT_MAX_CHILDREN } from '../servers/types.js';
import { parseTarget } from '../clients/target.js';
import { readTokenFile } from './agent-protocol.js';
import type { AgentAddress } from './remote-host.js';
import { MAX_CHILDREN, MAX_WORKERS } from '../servers/serve-options.js';

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
  --driver NAME        load driver: ${DRIVERS.map((d) => d.name).join(', ')} (TCP default: native, else node);
                       several (native,node) measure the same cells with each, in the same rounds
  --set KEY=VALUE      any axis: connections, inFlight, size, work, pattern, rate, pin, driver (repeatable)

Measuring
  --runs R             runs every cell gets (default: the profile's, 3)
  --target-ci PCT      then more runs, interleaved, until a cell's 95% CI half-width of throughput and of
                       server CPU µs/msg is ≤ PCT % of the mean (default 5); a cell still wider is inconclusive
  --max-runs N         ... at most N runs per cell (default: the profile's, 10)
  --max-time SEC       ... and no new round once the suite has run SEC seconds (default: the profile's)
  --steal-limit PCT    repeat a run during which the hypervisor stole > PCT % of the CPU (default 10)
  --other-load-limit PCT  ... or other processes used > PCT % of a CPU besides server and client (default 15)
  --ready-timeout SEC  TCP: the window opens once every connection the model serves has had an answer, or
                       after SEC seconds (default 30)
  --duration SEC       measured seconds per run (default: the profile's)
  --warmup SEC         discarded warmup seconds per run (default: the profile's)
  --pin MODE           separate (server and client on different CPUs), shared (server on all CPUs), off;
                       default: each workload's own (separate, or shared for CPU/blocking work)
  --workers N          workers/children/threads for parallel models (default: the CPUs the server is given)
  --max-children N     fork-per-connection's cap on live children (default ${DEFAULT_MAX_CHILDREN})
  --timeout MS         a message unanswered this long is a timeout (default 5000)
  --skip-ceiling       HTTP: do not measure the driver's own ceiling (nginx, or event-loop GET)
  --inject-cpu M:US    test knob: model M does US µs of extra busy work per message (how gate:validate
                       checks that the gate catches a known slowdown); comma-separated for several models
  --out DIR            results root (default results)

Servers on another host
  --agent HOST:PORT    start the servers on the serve agent there (npm run agent on that host); drivers run here
  --agent-token-file F the agent's token (the same file content as its --token-file)

Regression gate
  --baseline PATH      compare every cell with a saved suite (folder or records.jsonl) on server CPU µs/msg,
                       throughput (relative to native-epoll) and open-loop p99; exit 1 when one got worse
                       significantly (Welch p < 0.05) by more than --threshold, or could not be decided
  --threshold PCT      regression threshold in percent (default 10)
  --allow-inconclusive pass comparisons with too few runs or an interval too wide to decide
  --save-baseline      also write this suite's records to <out>/baseline/records.jsonl
  --help               this text`;

export interface Settings {
  plan: Plan;
  /** Things the user should know about the plan (a driver fallback…), printed before it runs. */
  notes: string[];
  /** Runs every cell gets. */
  runs: number;
  /** Budget of runs per cell while its interval is wider than targetCiPercent. */
  maxRuns: number;
  /** 95 % CI half-width, % of the mean, a cell's throughput and CPU µs/msg must reach. */
  targetCiPercent: number;
  /** Adaptive runs stop being added once the suite has run this long (the first `runs` rounds always run). */
  maxSec?: number;
  /** A run during which the hypervisor stole more than this % of the machine's CPU is repeated. */
  stealLimitPercent: number;
  /** ... or during which other processes used more than this % of a core. */
  otherLoadLimitPercent: number;
  /** Bound on the wait for every connection the model serves to have had an answer. */
  readyTimeoutSec: number;
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
  /** µs of injected per-message overhead by model (the gate's test knob). */
  injectCpu: Record<string, number>;
  /** The gate passes cells it could not decide on (too few samples, an interval too wide). */
  allowInconclusive: boolean;
  /** Servers run on this serve agent instead of this machine. */
  agent?: AgentAddress;
}

/** "event-loop:2,cluster-rr:1.5" → { event-loop: 2, cluster-rr: 1.5 }, each a Node model of the plan. */
export function parseInjection(text: string, models: readonly Model[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list('inject-cpu', text)) {
    const m = /^([a-z0-9-]+):(\d+(?:\.\d+)?)$/.exec(item);
    if (!m || !(Number(m[2]) > 0)) throw new UsageError(`--inject-cpu takes MODEL:µs with µs > 0, e.g. event-loop:2 (got "${item}")`);
    const model = findModel(m[1]!);
    if (model.runtime !== 'node') throw new UsageError(`--inject-cpu applies to Node models; ${model.name} is the native reference`);
    if (!models.includes(model)) throw new UsageError(`--inject-cpu names ${model.name}, which this run does not measure`);
    out[model.name] = Number(m[2]);
  }
  return out;
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
    case 'driver': {
      // Several drivers sweep the axis: the same cells measured by each, in the same rounds.
      const names = list(flag, text).map((name) => oneOf(flag, name, DRIVERS.map((d) => d.name), 'native'));
      return (names.length === 1 ? names[0]! : names) as WorkloadParams['driver'];
    }
    case 'protocol':
      return oneOf(flag, text, PROTOCOLS, 'tcp');
  }
}

/** The flags that choose and change workloads: the bench's, and the export's. */
export const WORKLOAD_FLAGS = {
  profile: { type: 'string' },
  filter: { type: 'string' },
  protocol: { type: 'string' },
  connections: { type: 'string' },
  size: { type: 'string' },
  work: { type: 'string' },
  'in-flight': { type: 'string' },
  pattern: { type: 'string' },
  rate: { type: 'string' },
  driver: { type: 'string' },
  pin: { type: 'string' },
  set: { type: 'string', multiple: true },
} as const;

export type WorkloadFlagValues = Partial<Record<Exclude<keyof typeof WORKLOAD_FLAGS, 'set'>, string>> & { set?: string[] };

/** The profile's workloads with every override applied and the filter kept, each value checked. */
export function workloadsFromFlags(values: WorkloadFlagValues, defaultProfile = 'quick'): { profile: Profile; workloads: Workload[]; notes: string[] } {
  const profileName = values.profile ?? defaultProfile;
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
  const driverNamed = overrides.driver !== undefined;
  // A protocol change brings its default driver unless one was named.
  if (overrides.protocol !== undefined && overrides.driver === undefined) overrides.driver = defaultDriver(overrides.protocol as WorkloadParams['protocol']);
  for (const driverName of [overrides.driver ?? []].flat() as string[]) {
    const driver = DRIVERS.find((d) => d.name === driverName)!;
    const protocol = (overrides.protocol as string | undefined) ?? 'tcp';
    if (driver.protocol !== protocol) throw new UsageError(`--driver ${driverName} drives ${driver.protocol}, not ${protocol}`);
    const present = driver.present();
    if (driverNamed && !present.ok) throw new UsageError(`--driver ${driverName} is unavailable: ${present.reason}`);
  }

  const notes = new Set<string>();
  let workloads: Workload[] = profile.families.flatMap((name) => expandFamily(FAMILIES.find((f) => f.name === name)!, overrides as Partial<WorkloadParams>));
  if (!driverNamed) {
    // The preferred driver (native for TCP) when it was built, else its fallback, said once.
    workloads = workloads.map((w) => {
      const r = resolveDefaultDriver(w.driver);
      if (r.fellBack) notes.add(r.fellBack);
      return r.driver === w.driver ? w : { ...w, driver: r.driver };
    });
  }
  if (values.filter !== undefined) {
    const needles = list('filter', values.filter);
    workloads = workloads.filter((w) => needles.some((n) => w.name.includes(n)));
    if (workloads.length === 0) throw new UsageError(`--filter "${values.filter}" matches no workload of profile ${profile.name}; see --list`);
  }
  return { profile, workloads, notes: [...notes] };
}

export function settingsFromArgs(argv: string[]): Settings | 'help' | 'list' {
  const { values } = parseFlags(argv, {
    ...WORKLOAD_FLAGS,
    model: { type: 'string' },
    list: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    runs: { type: 'string' },
    'max-runs': { type: 'string' },
    'target-ci': { type: 'string' },
    'max-time': { type: 'string' },
    'steal-limit': { type: 'string' },
    'other-load-limit': { type: 'string' },
    'ready-timeout': { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    workers: { type: 'string' },
    'max-children': { type: 'string' },
    timeout: { type: 'string' },
    out: { type: 'string' },
    baseline: { type: 'string' },
    threshold: { type: 'string' },
    'save-baseline': { type: 'boolean' },
    'skip-ceiling': { type: 'boolean' },
    'inject-cpu': { type: 'string' },
    'allow-inconclusive': { type: 'boolean' },
    agent: { type: 'string' },
    'agent-token-file': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  if (values.list) return 'list';
  if (values['agent-token-file'] !== undefined && values.agent === undefined) throw new UsageError('--agent-token-file needs --agent HOST:PORT');
  const { profile, workloads, notes } = workloadsFromFlags(values);
  let models: readonly Model[] = MODELS;
  if (values.model !== undefined) models = list('model', values.model).map(findModel);

  const openFiles = openFilesLimit();
  const plan = planCells(workloads, models, openFiles !== undefined ? { openFiles } : {});
  if (plan.cells.length === 0) {
    const reasons = [...new Set(plan.excluded.map((e) => e.reason))].join('; ');
    throw new UsageError(`nothing to run: every cell was excluded (${reasons})`);
  }
  const runs = positiveInteger('runs', values.runs, profile.runs, 1000);
  return {
    plan,
    notes,
    runs,
    maxRuns: Math.max(runs, positiveInteger('max-runs', values['max-runs'], profile.maxRuns, 1000)),
    targetCiPercent: positiveNumber('target-ci', values['target-ci'], 5),
    ...(values['max-time'] !== undefined || profile.maxSec !== undefined ? { maxSec: positiveNumber('max-time', values['max-time'], profile.maxSec ?? 0) } : {}),
    stealLimitPercent: positiveNumber('steal-limit', values['steal-limit'], 10),
    otherLoadLimitPercent: positiveNumber('other-load-limit', values['other-load-limit'], 15),
    readyTimeoutSec: nonNegativeNumber('ready-timeout', values['ready-timeout'], 30),
    warmupSec: nonNegativeNumber('warmup', values.warmup, profile.warmupSec),
    durationSec: positiveNumber('duration', values.duration, profile.durationSec),
    timeoutMs: positiveNumber('timeout', values.timeout, 5000),
    ...(values.workers !== undefined ? { workers: positiveInteger('workers', values.workers, 1, MAX_WORKERS) } : {}),
    ...(values['max-children'] !== undefined ? { maxChildren: positiveInteger('max-children', values['max-children'], DEFAULT_MAX_CHILDREN, MAX_CHILDREN) } : {}),
    out: values.out ?? 'results',
    dryRun: values['dry-run'] === true,
    profile: profile.name,
    // Read now, so a bad baseline fails before minutes of measuring.
    ...(values.baseline !== undefined ? { baseline: readRecords(values.baseline) } : {}),
    thresholdPercent: positiveNumber('threshold', values.threshold, 10),
    saveBaseline: values['save-baseline'] === true,
    skipCeiling: values['skip-ceiling'] === true,
    injectCpu: values['inject-cpu'] !== undefined ? parseInjection(values['inject-cpu'], models) : {},
    allowInconclusive: values['allow-inconclusive'] === true,
    ...(values.agent !== undefined ? { agent: agentAddress(values.agent, values['agent-token-file']) } : {}),
  };
}

/** Checked (and the token read) before anything runs; without a token file the agent's own refusal is shown. */
function agentAddress(target: string, tokenFile: string | undefined): AgentAddress {
  return { ...parseTarget(target, 'agent'), ...(tokenFile !== undefined ? { token: readTokenFile(tokenFile, 'agent-token-file') } : {}) };
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

