/**
 * What the user asked the bench for: one option table (BENCH_OPTIONS) from which the flags, their checks, their
 * defaults and --help are generated, and Settings — the table's values plus the few derived from them (the profile's
 * runs and windows, the workloads with their overrides, the models). Parsing touches nothing but its arguments: what
 * the machine says about them (drivers present, CPUs allowed, valgrind, files named) is the preflight's
 * (suite/preflight.ts). A pass-through option costs two edits: its line in the table, and the place that reads
 * `settings.<name>`.
 */
import path from 'node:path';
import { list, UsageError } from '../../lib/cli-args.js';
import { DEFAULTS } from '../../lib/defaults.js';
import {
  choiceOption,
  customOption,
  helpText,
  integerOption,
  nonNegativeNumberOption,
  parseOptions,
  positiveNumberOption,
  repeatedOption,
  switchOption,
  textOption,
  type OptionSpec,
  type OptionValues,
} from '../../lib/options.js';
import { parseObjective } from './slo.js';
import { FAMILIES, PROFILES, type Profile, type Workload } from './workloads.js';
import { AXES, AXIS_KEYS, axisForSetKey, setKeyNames, type AxisKey, type WorkloadParams } from './axes.js';
import { expandFamily } from './matrix.js';
import { MODELS, findModel, type Model } from '../../servers/registry.js';
import { externalServers } from './external-servers.js';
import { DRIVERS, defaultDriver } from '../../clients/drivers.js';
import { parseTarget } from '../../clients/target.js';
import { MAX_CHILDREN, MAX_CHILDREN_HELP, MAX_WORKERS } from '../../servers/serve-options.js';
import { formatCpuList, parseCpuList } from '../../lib/cpu-list.js';

/** "event-loop:2,cluster-rr:1.5" → { event-loop: 2, cluster-rr: 1.5 } (checked against the plan's models later). */
function parseInjectionText(text: string, flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list(flag, text)) {
    const m = /^([a-z0-9-]+):(\d+(?:\.\d+)?)$/.exec(item);
    if (!m || !(Number(m[2]) > 0))
      throw new UsageError(`--${flag} takes MODEL:µs with µs > 0, e.g. event-loop:2 (got "${item}")`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** A taskset CPU list (whether this process may use those CPUs is the preflight's to say). */
function cpuListText(text: string, flag: string): string {
  let cpus: number[];
  try {
    cpus = parseCpuList(text);
  } catch {
    throw new UsageError(`--${flag} must be a CPU list such as 0, 0-3 or 0,2 (got "${text}")`);
  }
  if (cpus.length === 0) throw new UsageError(`--${flag} names no CPU (got "${text}")`);
  return formatCpuList(cpus);
}

/** The injection's models must be Node models this run measures. */
export function checkInjection(injection: Record<string, number>, models: readonly Model[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, micros] of Object.entries(injection)) {
    const model = findModel(name);
    if (model.runtime !== 'node')
      throw new UsageError(`--inject-cpu applies to Node models; ${model.name} is the native reference`);
    if (!models.includes(model))
      throw new UsageError(`--inject-cpu names ${model.name}, which this run does not measure`);
    out[model.name] = micros;
  }
  return out;
}

/** The options that choose and change workloads: shared by the bench and the export. */
export const WORKLOAD_OPTIONS = {
  profile: textOption('profile', {
    meta: 'NAME',
    help: `${PROFILES.map((p) => `${p.name} (${p.description})`).join('; ')}`,
    defaultText: 'quick',
  }),
  filter: textOption('filter', {
    meta: 'TEXT',
    help: 'only workloads whose name contains TEXT (comma-separated: any of them)',
  }),
  ...(Object.fromEntries(AXIS_KEYS.map((k) => [k, AXES[k].option])) as {
    [K in AxisKey]: OptionSpec<WorkloadParams[K] | WorkloadParams[K][]>;
  }),
  set: repeatedOption('set', { meta: 'KEY=VALUE', help: `any axis: ${setKeyNames().join(', ')} (repeatable)` }),
} as const;

/** A default that each profile sets: "the profile's: quick 2, full 3". */
function profileDefault(value: (p: Profile) => number | string | undefined): string {
  return `the profile's: ${PROFILES.map((p) => `${p.name} ${value(p) ?? 'none'}`).join(', ')}`;
}

export const BENCH_OPTIONS = {
  ...WORKLOAD_OPTIONS,
  handler: textOption('handler', {
    meta: 'MODULE',
    help: "your request handler in every model, where the model runs handler work: an ES module whose\ndefault export answers a request (Buffer) with a Buffer, Uint8Array or string, or a promise\nof one; the profile's echo workloads run it over framed TCP (docs/handlers.md)",
  }),
  requests: textOption('requests', {
    meta: 'FILE',
    help: 'the requests --handler is sent, in rotation: JSON lines (a string is UTF-8 text,\n{"base64": …} bytes) or a folder of files (default: 16 random bodies of the payload size)',
  }),
  server: repeatedOption('server', {
    meta: 'NAME=CMD',
    help: 'a server of your own as a model named NAME: CMD runs by /bin/sh -c, {port} replaced by a free\nport (without it, its first line of output names the port); framed TCP unless a --servers\nfile says otherwise (repeatable; always included, --model chooses among the built-in ones)',
  }),
  servers: textOption('servers', {
    meta: 'FILE',
    help: 'servers of your own from a JSON or YAML list of { name, command, protocols?, httpPath? }',
  }),
  model: textOption('model', {
    meta: 'A,B',
    help: `only these models (default: all ${MODELS.length}: ${MODELS.map((m) => m.name).join(', ')})`,
  }),
  list: switchOption('list', 'list models, workload families and profiles, then exit'),
  wide: switchOption(
    'wide',
    'print every column, the verdict matrix, the cost model and the gate table (report.md\nand report.html always have them); by default the first screen fits the terminal',
  ),
  dryRun: switchOption('dry-run', 'print the plan (cells, runs, estimated time) and exit'),
  runs: integerOption('runs', {
    min: 1,
    max: 1000,
    meta: 'R',
    help: 'runs every cell gets',
    defaultText: profileDefault((p) => p.runs),
  }),
  marginPercent: positiveNumberOption('margin', {
    meta: 'PCT',
    default: DEFAULTS.marginPercent,
    max: 100,
    help: "the verdict's equivalence margin: two models whose difference lies within ±PCT % (90% interval,\nTOST) are tied; beyond it on the worse side, beaten; then more runs, interleaved, go to the\ncomparisons still undecided",
  }),
  maxRuns: integerOption('max-runs', {
    min: 1,
    max: 1000,
    meta: 'N',
    help: '... at most N runs per cell',
    defaultText: profileDefault((p) => p.maxRuns),
  }),
  maxSec: positiveNumberOption('max-time', {
    meta: 'SEC',
    help: '... and no new round once the suite has run SEC seconds',
    defaultText: profileDefault((p) => p.maxSec),
  }),
  stealLimitPercent: positiveNumberOption('steal-limit', {
    meta: 'PCT',
    default: DEFAULTS.stealLimitPercent,
    help: 'repeat a run during which the hypervisor stole > PCT % of the CPU',
  }),
  otherLoadLimitPercent: positiveNumberOption('other-load-limit', {
    meta: 'PCT',
    default: DEFAULTS.otherLoadLimitPercent,
    help: '... or other processes used > PCT % of a CPU besides server and client',
  }),
  ifDisturbed: choiceOption('if-disturbed', ['stop', 'keep'] as const, {
    meta: 'stop|keep',
    help: `when ${DEFAULTS.persistentAfter} runs in a row, over ${DEFAULTS.persistentSec} s or more, were set aside for the same cause (a\nneighbour that stays), name it — the busy CPUs and processes — and stop (exit 1), or keep\nmeasuring with such runs counted and marked`,
    defaultText: 'stop; keep with --counts (the counts decide there)',
  }),
  memoryCapMiB: positiveNumberOption('memory-cap', {
    meta: 'MIB',
    help: 'stop a server whose process tree holds more than MIB MiB (PSS) and record its run as\nfailed: a leak ends before the machine swaps',
    defaultText: "half this machine's memory",
  }),
  keepEveryRun: switchOption(
    'keep-every-run',
    'count every run: none is set aside for steal or other load (its figures are still\nrecorded); for a fixed number of runs, e.g. in tests',
  ),
  startTimeoutSec: positiveNumberOption('start-timeout', {
    meta: 'SEC',
    default: DEFAULTS.startTimeoutSec,
    help: 'a server not ready SEC after it was started (its ready line; --server: an answer on its\nport) is a failed run',
  }),
  stopTimeoutSec: positiveNumberOption('stop-timeout', {
    meta: 'SEC',
    default: DEFAULTS.stopTimeoutSec,
    help: 'a server still running SEC after SIGTERM is killed with its process group (and the run says so)',
  }),
  readyTimeoutSec: nonNegativeNumberOption('ready-timeout', {
    meta: 'SEC',
    default: DEFAULTS.readyTimeoutSec,
    help: 'TCP: the warmup starts once every connection the model serves has had an answer\n(each holds its first frames until then), or after SEC seconds',
  }),
  durationSec: positiveNumberOption('duration', {
    meta: 'SEC',
    help: 'measured seconds per run',
    defaultText: profileDefault((p) => p.durationSec),
  }),
  warmupSec: nonNegativeNumberOption('warmup', {
    meta: 'SEC',
    help: 'discarded warmup seconds per run',
    defaultText: profileDefault((p) => p.warmupSec),
  }),
  serverCpus: customOption('server-cpus', cpuListText, {
    meta: 'LIST',
    help: 'pin the servers to these CPUs (taskset list, e.g. 0-5) instead of the planned split',
  }),
  driverCpus: customOption('driver-cpus', cpuListText, {
    meta: 'LIST',
    help: 'pin the load driver to these CPUs (default with --server-cpus: the others)',
  }),
  driverThreads: integerOption('driver-threads', {
    min: 1,
    max: 256,
    meta: 'N',
    help: 'native driver threads (default: planned from the measured capacities)',
  }),
  workers: integerOption('workers', {
    min: 1,
    max: MAX_WORKERS,
    meta: 'N',
    help: 'workers/children/threads for parallel models',
    defaultText: 'the CPUs the server is given',
  }),
  maxChildren: integerOption('max-children', {
    min: 1,
    max: MAX_CHILDREN,
    meta: 'N',
    help: MAX_CHILDREN_HELP,
    defaultText: String(DEFAULTS.maxChildren),
  }),
  timeoutMs: positiveNumberOption('timeout', {
    meta: 'MS',
    default: DEFAULTS.timeoutMs,
    help: 'a message unanswered this long is a timeout',
  }),
  slo: customOption('slo', (text, flag) => parseObjective(text, flag), {
    meta: 'P=LAT',
    help: "after the timed runs, search each model's capacity at this latency objective (e.g.\np99=10ms; percentiles p50, median, p90, p99, p99.9, p999; units us, ms, s): the highest\nopen-loop rate whose percentile provably holds it, as a bracket within 2 %; ranked per\nworkload, with the latency-vs-load curve. A workload open loop already (--rate R) is checked\nat its rate instead: holds, fails or undecided (docs/capacity.md). Without --slo, a profile's\nown objective (the full profile's) is only checked at its open-loop rows' rates,\nnot searched",
    defaultText: profileDefault((p) => p.objective),
  }),
  seed: integerOption('seed', {
    min: 1,
    max: 2 ** 32 - 1,
    meta: 'S',
    help: 'payload bytes from this seed: the same bytes in every run, from every driver (default:\nrandom, new for each driver process)',
  }),
  skipCeiling: switchOption('skip-ceiling', "HTTP: do not measure the driver's own ceiling (nginx, or event-loop GET)"),
  injectCpu: customOption('inject-cpu', parseInjectionText, {
    meta: 'M:US',
    help: 'test knob: model M does US µs of extra busy work per message (how gate:validate\nchecks that the gate catches a known slowdown); comma-separated for several models',
  }),
  recalibrate: switchOption(
    'recalibrate',
    "measure the spin loop behind cpu:<µs> work again; otherwise the rate kept for this machine under\n--out (or a --baseline's own) is reused, so suites compared later did the same work",
  ),
  out: textOption('out', { meta: 'DIR', default: 'results', help: 'results root' }),
  counts: switchOption(
    'counts',
    "also count what each server executes per message: instructions under valgrind's callgrind\n(the whole process tree, fixed windows of messages), which no neighbour moves; see docs/counts.md",
  ),
  countRuns: integerOption('count-runs', {
    min: 1,
    max: 100,
    meta: 'N',
    default: 1,
    help: '--counts: fresh server processes counted per cell',
  }),
  skipTiming: switchOption('skip-timing', '--counts only: no timed runs, only the counted ones'),
  agent: customOption('agent', (t, f) => parseTarget(t, f), {
    meta: 'HOST:PORT',
    help: 'start the servers on the serve agent there (npm run agent on that host); drivers run here',
  }),
  agentTokenFile: textOption('agent-token-file', {
    meta: 'F',
    help: "the agent's token (the same file content as its --token-file)",
  }),
  against: textOption('against', {
    meta: 'REF',
    help: "measure REF's servers (any git revision; auto: the merge-base with main on a branch, HEAD~1\non main) beside the working tree's, the same cells in the same rounds, and gate on the\nchange; REF is built once into a cache outside the repository",
  }),
  baseline: textOption('baseline', {
    meta: 'PATH',
    help: 'compare every cell with a saved suite (folder or records.jsonl) on server CPU µs/msg,\nthroughput (relative to native-epoll) and open-loop p99; exit 1 when one got worse\nsignificantly (Welch p < 0.05) by more than --threshold, or could not be decided',
  }),
  alternateSec: nonNegativeNumberOption('alternate', {
    meta: 'SEC',
    default: DEFAULTS.alternateSec,
    help: "in each round a row's models (--against: a cell's two sides) stay up together and take\nturns in windows of about SEC seconds (the run's --duration split up), judged as pairs;\n0: one window each, a server started for every run, judged unpaired",
  }),
  thresholdPercent: positiveNumberOption('threshold', {
    meta: 'PCT',
    default: DEFAULTS.thresholdPercent,
    help: 'regression threshold in percent',
  }),
  allowInconclusive: switchOption(
    'allow-inconclusive',
    'pass comparisons with too few runs or an interval too wide to decide',
  ),
  saveBaseline: switchOption('save-baseline', `also write this suite's records to <out>/baseline/records.jsonl`),
  help: switchOption('help', 'this text'),
} as const;

export type BenchValues = OptionValues<typeof BENCH_OPTIONS>;
const O = BENCH_OPTIONS;
const axisOptions = (section: 'choose' | 'workload' | 'measure'): OptionSpec[] =>
  AXIS_KEYS.filter((k) => AXES[k].section === section).map((k) => AXES[k].option);

export const USAGE = helpText(
  'usage: npm run bench [-- options]',
  'Starts a fresh server per (model × workload) cell, drives it with a verifying load client, repeats and\ninterleaves the runs, and prints one table per workload plus a verdict. Results go to results/<suite>/.',
  [
    {
      heading: 'Choosing what runs',
      options: [
        O.profile,
        O.model,
        O.handler,
        O.requests,
        O.server,
        O.servers,
        O.filter,
        ...axisOptions('choose'),
        O.list,
        O.dryRun,
      ],
    },
    {
      heading: 'Changing workloads (apply to every workload of the profile; a swept axis becomes fixed)',
      options: [...axisOptions('workload'), O.set],
    },
    {
      heading: 'Measuring',
      options: [
        O.runs,
        O.marginPercent,
        O.slo,
        O.maxRuns,
        O.maxSec,
        O.stealLimitPercent,
        O.otherLoadLimitPercent,
        O.ifDisturbed,
        O.keepEveryRun,
        O.memoryCapMiB,
        O.startTimeoutSec,
        O.stopTimeoutSec,
        O.readyTimeoutSec,
        O.durationSec,
        O.warmupSec,
        ...axisOptions('measure'),
        O.serverCpus,
        O.driverCpus,
        O.driverThreads,
        O.workers,
        O.maxChildren,
        O.timeoutMs,
        O.seed,
        O.skipCeiling,
        O.injectCpu,
        O.recalibrate,
        O.out,
      ],
    },
    { heading: 'Counting (instructions per message under callgrind)', options: [O.counts, O.countRuns, O.skipTiming] },
    { heading: 'Servers on another host', options: [O.agent, O.agentTokenFile] },
    {
      heading: 'Regression gate',
      options: [O.against, O.alternateSec, O.baseline, O.thresholdPercent, O.allowInconclusive, O.saveBaseline, O.help],
    },
  ],
);

/** What the bench runs with: every option's value, and what follows from them and the profile. */
export type Settings = Readonly<BenchValues> & {
  /** The profile's name (--profile, or the command's default). */
  readonly profile: string;
  /** The profile's workloads with every override applied and the filter kept (drivers as named: preflight resolves them). */
  readonly workloads: readonly Workload[];
  /** A driver was named (--driver or --set driver=): it must be present; otherwise a missing default falls back. */
  readonly driverNamed: boolean;
  /** The models asked for (--model), in registry order of the flag. */
  readonly models: readonly Model[];
  /** Runs every cell gets; at most this many while a comparison is undecided; no new round after maxSec. */
  readonly runs: number;
  readonly maxRuns: number;
  readonly maxSec?: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  /** Once a disturbance persists: stop, or keep measuring with such runs counted and marked. */
  readonly ifDisturbed: 'stop' | 'keep';
  /** `slo` was given (--slo): every workload's capacity is searched; otherwise it is the profile's, checked at the
   * open-loop rows' own rates only. */
  readonly sloSearches: boolean;
  /** Counted runs per cell under callgrind (0: none). */
  readonly countRuns: number;
  /** µs of injected per-message overhead by model (the gate's test knob), checked against the models. */
  readonly injectCpu: Readonly<Record<string, number>>;
};

/** The values workloadsFromFlags needs: the workload options, already checked. */
export type WorkloadValues = Partial<OptionValues<typeof WORKLOAD_OPTIONS>>;

/** The profile's workloads with every override applied and the filter kept. */
export function workloadsFromFlags(
  values: WorkloadValues,
  defaultProfile = 'quick',
): { profile: Profile; workloads: Workload[]; driverNamed: boolean; rateNamed: boolean } {
  const profileName = values.profile ?? defaultProfile;
  const profile = PROFILES.find((p) => p.name === profileName);
  if (!profile)
    throw new UsageError(`--profile must be one of ${PROFILES.map((p) => p.name).join(', ')} (got "${profileName}")`);

  const overrides: Partial<Record<AxisKey, unknown>> = {};
  for (const k of AXIS_KEYS) if (values[k] !== undefined) overrides[k] = values[k];
  for (const assignment of values.set ?? []) {
    const m = /^([A-Za-z-]+)=(.+)$/.exec(assignment);
    const key = m ? axisForSetKey(m[1]!) : undefined;
    if (!m || !key)
      throw new UsageError(`--set takes KEY=VALUE with KEY one of ${setKeyNames().join(', ')} (got "${assignment}")`);
    overrides[key] = AXES[key].option.parse(m[2]!, `set ${m[1]}`);
  }
  const driverNamed = overrides.driver !== undefined;
  // A protocol change brings its default driver unless one was named.
  if (overrides.protocol !== undefined && overrides.driver === undefined)
    overrides.driver = defaultDriver(overrides.protocol as WorkloadParams['protocol']);
  for (const driverName of [overrides.driver ?? []].flat() as string[]) {
    const driver = DRIVERS.find((d) => d.name === driverName)!;
    const protocol = (overrides.protocol as string | undefined) ?? 'tcp';
    if (driver.protocol !== protocol)
      throw new UsageError(`--driver ${driverName} drives ${driver.protocol}, not ${protocol}`);
  }

  let workloads: Workload[] = profile.families.flatMap((name) =>
    expandFamily(FAMILIES.find((f) => f.name === name)!, overrides as Partial<WorkloadParams>),
  );
  if (values.filter !== undefined) {
    const needles = list('filter', values.filter);
    workloads = workloads.filter((w) => needles.some((n) => w.name.includes(n)));
    if (workloads.length === 0)
      throw new UsageError(`--filter "${values.filter}" matches no workload of profile ${profile.name}; see --list`);
  }
  return { profile, workloads, driverNamed, rateNamed: overrides.rate !== undefined };
}

export function parseBenchArgs(argv: readonly string[]): BenchValues {
  return parseOptions(argv, BENCH_OPTIONS).values;
}

/**
 * With --handler, the handler is the work: the profile's workloads whose work is none (the echo, connections,
 * payload, pipelining, open-loop, connect-per-request families) run it instead; those whose work is the built-in
 * synthetic kind (cpu, block, async) have nothing to add and are left out.
 */
export function handlerWorkloads(workloads: readonly Workload[], module: string): Workload[] {
  // The echo's prediction is about no work at all; what the handler does decides instead.
  const kept = workloads
    .filter((w) => w.work === 'none')
    .map((w) => ({
      ...w,
      work: `handler:${module}`,
      predicts:
        'your handler decides: CPU work favours the models that spread it over the server CPUs; waiting, those that keep many requests in flight; a thread pool costs hand-offs',
    }));
  if (kept.length === 0)
    throw new UsageError('--handler: the profile (with --filter) has no echo workload for the handler to run in');
  return kept;
}

/** Settings from a command line, or what to print instead. Pure: a bad flag or combination is a UsageError. */
export function settingsFromArgs(argv: readonly string[]): Settings | 'help' | 'list' {
  const v = parseBenchArgs(argv);
  if (v.help) return 'help';
  if (v.list) return 'list';
  if (v.agentTokenFile !== undefined && v.agent === undefined)
    throw new UsageError('--agent-token-file needs --agent HOST:PORT');
  const flagged = workloadsFromFlags(v);
  const { profile, driverNamed } = flagged;
  if (v.requests !== undefined && v.handler === undefined)
    throw new UsageError('--requests needs --handler MODULE: they are the requests it is sent');
  if (v.handler !== undefined && v.work !== undefined)
    throw new UsageError('--handler is the work: --work does not apply with it');
  const workloads =
    v.handler !== undefined ? handlerWorkloads(flagged.workloads, path.resolve(v.handler)) : flagged.workloads;
  const builtIn: readonly Model[] = v.model !== undefined ? list('model', v.model).map(findModel) : MODELS;
  const models: readonly Model[] = [...builtIn, ...externalServers(v.server, v.servers)];
  if (v.against !== undefined && v.baseline !== undefined)
    throw new UsageError('--against and --baseline are two ways to get a baseline: give one');
  if (v.against !== undefined && v.agent !== undefined)
    throw new UsageError('--against builds the base on this machine; it cannot be combined with --agent');
  if (v.skipTiming && !v.counts) throw new UsageError('--skip-timing needs --counts (otherwise nothing would run)');
  if (v.slo !== undefined && (v.against !== undefined || v.baseline !== undefined || v.saveBaseline || v.skipTiming))
    throw new UsageError(
      '--slo searches capacity after the timed runs of one suite: it cannot be combined with --against, --baseline, --save-baseline or --skip-timing',
    );
  if (v.driverThreads !== undefined && v.agent !== undefined)
    throw new UsageError(
      '--driver-threads: with --agent the driver runs here unpinned; give it with --server-cpus on the agent side instead',
    );
  if ((v.server !== undefined || v.servers !== undefined) && v.agent !== undefined)
    throw new UsageError('--server runs your server on this machine; it cannot be combined with --agent');
  if (v.counts && v.agent !== undefined)
    throw new UsageError(
      '--counts runs the servers under valgrind on this machine; it cannot be combined with --agent',
    );
  const runs = v.runs ?? profile.runs;
  const maxSec = v.maxSec ?? profile.maxSec;
  // The profile's objective where it can apply: one suite of timed runs, the open-loop rows at the profile's own rate
  // (a --rate given to every workload would make each a check: hours on the full profile).
  const ownObjective =
    v.slo === undefined &&
    profile.objective !== undefined &&
    !flagged.rateNamed &&
    v.against === undefined &&
    v.baseline === undefined &&
    !v.saveBaseline &&
    !v.skipTiming
      ? parseObjective(profile.objective, 'slo')
      : undefined;
  return {
    ...v,
    profile: profile.name,
    workloads,
    driverNamed,
    models,
    runs,
    maxRuns: Math.max(runs, v.maxRuns ?? profile.maxRuns),
    ...(maxSec !== undefined ? { maxSec } : {}),
    warmupSec: v.warmupSec ?? profile.warmupSec,
    durationSec: v.durationSec ?? profile.durationSec,
    ifDisturbed: v.ifDisturbed ?? (v.counts ? 'keep' : 'stop'),
    countRuns: v.counts ? v.countRuns : 0,
    ...(ownObjective ? { slo: ownObjective } : {}),
    sloSearches: v.slo !== undefined,
    injectCpu: v.injectCpu !== undefined ? checkInjection(v.injectCpu, models) : {},
  };
}
