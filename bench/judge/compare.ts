/**
 * The regression gate's comparison, in the manner of Node core's compare.R: for every cell present in both suites
 * and every metric that applies to it, Welch's t-test on the per-run values decides whether a change is real, and the
 * change is reported with its 95 % confidence interval. Runs of an --against session measured in blocks (both sides'
 * servers up together, taking turns: bench/run/run-block.ts) are compared as pairs instead, a paired t-test on the ratio
 * within each block, so what moved both sides of a block alike cancels.
 *
 * Metrics (each run is one sample):
 *   - server CPU µs per message (lower is better): the server's own cost, which a change to the server moves even
 *     when the load client set the pace;
 *   - throughput (higher is better), from runs whose client did not saturate; absolute rates drift between suites
 *     of different days, so there each run is divided by the reference model's run nearest in time in the same
 *     suite (the native epoll ceiling, which no change to the Node code can move); within one --against session
 *     the sides' runs are interleaved and compared absolute;
 *   - p99 latency (lower is better) of open-loop cells, where the rate is fixed and latency is the result.
 *
 * Per metric: a regression is a significant change (p < alpha) for the worse by more than the threshold; the same
 * for the better is an improvement; "same" needs evidence that no regression beyond the threshold happened: the
 * worse end of the change's 95 % interval inside the threshold (a significant change estimated below it is not
 * enough while its interval reaches past it). Anything else (too few runs, an interval whose worse end reaches the
 * threshold) is inconclusive, never "same". A metric whose baseline kept a wide interval through many runs is
 * unstable: shown with its change, not gated, unless the change's whole interval lies beyond the threshold (a
 * regression or an improvement however noisy the baseline).
 *
 * Per cell: a regression on any metric fails the gate. Server CPU µs/msg decides the rest: it is the server's own
 * cost and stays steady on a busy machine, where throughput swings with whatever else takes the CPU. When it is
 * decided (same or better), an undecided throughput or p99 is shown but does not fail the gate; when it is itself
 * undecided (or not measured), any undecided metric makes the cell inconclusive.
 */
import { cellKey, isCeiling, type Environment, type OkRecord, type RunRecord } from '../data/record.js';
import { instructionRuns, timedRuns } from './aggregate.js';
import { compareSamples, comparePaired, confidenceInterval, mean, median, runsToResolve } from '../data/stats.js';
import {
  commonSource,
  METRICS,
  METRIC_IDS,
  runSamplesOf,
  sourcesFor,
  type Metric,
  type MetricId,
  type SampleSource,
} from '../data/metrics.js';

/** The metrics the gate compares; each row of its report is one of them (see bench/data/metrics.ts). */
export type MetricName = MetricId;
export { METRICS };

/** Each count's regression rule, from its metric (data/metrics.ts: threshold). Timing metrics use --threshold. */
export const COUNT_THRESHOLDS: Readonly<Partial<Record<MetricId, { relative: number; absolute: number }>>> =
  Object.fromEntries(METRIC_IDS.flatMap((id) => (METRICS[id].threshold ? [[id, METRICS[id].threshold]] : [])));

export type CompareVerdict = 'regression' | 'improvement' | 'same' | 'inconclusive' | 'unstable' | 'new' | 'missing';

export interface CompareRow {
  key: string;
  workload: string;
  model: string;
  metric: MetricName;
  /** Means of the samples (normalized throughput when `normalized`). */
  baseline: number;
  current: number;
  nBaseline: number;
  nCurrent: number;
  /** (current − baseline) / baseline of the means: +0.10 means 10 % higher. */
  change: number;
  /** 95 % interval of the change (Welch), same scale as `change`. */
  changeLow: number;
  changeHigh: number;
  pValue: number;
  verdict: CompareVerdict;
  /** Why a row is inconclusive (or what else to know). */
  note?: string;
  /** Throughput divided by the reference's run nearest in time. */
  normalized?: boolean;
  /** An inconclusive row that fails the gate (its cell's CPU µs/msg did not decide the cell). */
  gating?: boolean;
  /** A timing row of a cell decided by its instruction counts: shown, never failing the gate. */
  informational?: boolean;
  /** Both sides' samples are counted processes (judged by their medians against the count's threshold). */
  counted?: boolean;
  /** Compared as this many pairs (an --against session's blocks: both sides' servers up together, taking turns). */
  paired?: number;
}

export interface CompareOptions {
  /** A change must exceed this fraction (0.10 = 10 %) and be significant to count. */
  threshold: number;
  alpha: number;
  /** Reference model for normalizing throughput; undefined = absolute msgs/s. */
  reference?: string;
  /** Fewer runs than this on a side: inconclusive. */
  minSamples?: number;
  /** Models whose instruction count varies between fresh processes of the same code, with why (the registry's). */
  countsVary?: ReadonlyMap<string, string>;
  /** Instruction thresholds wider than the default (1.5 × a measured spread; the registry's), by `model/workload`,
   * and by `model` for the model's other workloads. */
  instructionThresholds?: ReadonlyMap<string, number>;
  /** The instruction threshold for the cell being compared (set per cell from instructionThresholds). */
  instructionThreshold?: number;
  /** Both sides come from one --against session (the same suite id), their runs interleaved: set by compareSuites. */
  sameSession?: boolean;
}

export interface CompareReport {
  rows: CompareRow[];
  /** How throughput was compared: "relative to native-epoll …" or "absolute msgs/s". */
  basis: string;
  regressions: CompareRow[];
  /** Undecided rows that fail the gate (see `gating`). */
  inconclusive: CompareRow[];
  /** Rows not gated because the baseline itself cannot resolve a change of the threshold's size. */
  unstable: CompareRow[];
  /** Metrics a cell has in one suite but could not be compared on, and why (every run client-saturated…). */
  dropped: { key: string; metric: MetricName; reason: string }[];
  /** Cells compared on at least one metric. */
  compared: number;
  /** Cells with at least one metric the gate judged (not unstable). */
  gated: number;
  /** The two suites ran on different machines or Node versions: the comparison may say more about that. */
  environmentWarnings: string[];
}

export const DEFAULT_MIN_SAMPLES = 3;

/**
 * A baseline metric that kept an interval this wide through at least this many runs is noisy by nature, not short
 * of runs (with fewer, a wide interval is "too few runs": inconclusive, and gating).
 */
export const UNSTABLE_MIN_RUNS = 5;

/** One source's samples of a cell: per metric, the values and the runs they came from (in the same order). */
interface SourceSamples {
  values: Partial<Record<MetricName, number[]>>;
  /** An --against block's pair is found by its runs' round. */
  runs: Partial<Record<MetricName, OkRecord[]>>;
}

interface CellSamples {
  workload: string;
  model: string;
  /** Timed runs' samples and counted runs' (metrics.ts: sourcesFor says which a metric may use). */
  bySource: Record<SampleSource, SourceSamples>;
  /** Why a metric has no samples although the cell ran. */
  missing: Partial<Record<MetricName, string>>;
}

/** The reference's run nearest in time to `time`, in the same workload (runs of one round are back to back). */
function nearestReference(references: readonly OkRecord[], r: OkRecord): OkRecord | undefined {
  const t = Date.parse(r.time);
  let best: OkRecord | undefined;
  for (const ref of references) {
    if (ref.workload !== r.workload || ref.params.protocol !== r.params.protocol) continue;
    if (!best || Math.abs(Date.parse(ref.time) - t) < Math.abs(Date.parse(best.time) - t)) best = ref;
  }
  return best;
}

/** Per cell and metric, the per-run samples of one suite. */
export function cellSamples(records: readonly RunRecord[], reference: string | undefined): Map<string, CellSamples> {
  const counted = [...timedRuns(records), ...instructionRuns(records)];
  const references = reference ? counted.filter((r) => r.model === reference) : [];
  const byCell = new Map<string, OkRecord[]>();
  for (const r of counted) {
    if (isCeiling(r.model) || r.model === reference) continue;
    const key = cellKey(r);
    byCell.set(key, [...(byCell.get(key) ?? []), r]);
  }
  const out = new Map<string, CellSamples>();
  for (const [key, runs] of byCell) {
    const first = runs[0]!;
    const cell: CellSamples = {
      workload: first.workload,
      model: first.model,
      bySource: { timed: { values: {}, runs: {} }, counted: { values: {}, runs: {} } },
      missing: {},
    };
    const take = (metric: MetricName, source: SampleSource, from: readonly OkRecord[]): number => {
      const samples = runSamplesOf(metric, from);
      if (samples.length > 0) {
        cell.bySource[source].values[metric] = samples.map((s) => s.value);
        cell.bySource[source].runs[metric] = samples.map((s) => s.run);
      }
      return samples.length;
    };
    const timed = runs.filter((r) => r.counts === undefined); // runs under callgrind are counted, not timed
    const countedRuns = runs.filter((r) => r.counts !== undefined);
    if (take('cpuPerMsg', 'timed', timed) === 0 && timed.length > 0)
      cell.missing.cpuPerMsg = "the server's CPU was not sampled";
    const unsaturated = timed.filter((r) => !r.result.client.saturated);
    if (timed.length > 0 && unsaturated.length === 0)
      cell.missing.throughput = 'the load client saturated in every run (its throughput measures the client)';
    else if (reference) {
      const values = unsaturated.flatMap((r) => {
        const ref = nearestReference(references, r);
        return ref && ref.result.msgsPerSec > 0 ? [r.result.msgsPerSec / ref.result.msgsPerSec] : [];
      });
      if (values.length > 0) cell.bySource.timed.values.throughput = values;
      else if (unsaturated.length > 0) cell.missing.throughput = `no ${reference} run to normalize by`;
    } else if (unsaturated.length > 0) take('throughput', 'timed', unsaturated);
    if (first.params.rate !== undefined && timed.length > 0) take('p99', 'timed', timed);
    for (const id of METRIC_IDS.filter((m) => METRICS[m].kind === 'count')) {
      for (const source of sourcesFor(id, 'gate')) take(id, source, source === 'timed' ? timed : countedRuns);
    }
    out.set(key, cell);
  }
  return out;
}

/** The reference both suites measured, if any (native first). */
export function pickReference(
  baseline: readonly RunRecord[],
  current: readonly RunRecord[],
  preferred: readonly string[],
): string | undefined {
  const has = (rs: readonly RunRecord[], m: string): boolean => rs.some((r) => r.model === m && r.status === 'ok');
  return preferred.find((m) => has(baseline, m) && has(current, m));
}

/**
 * Both sides' samples as pairs, when every run of both was one side of an --against block (bench/run/run-block.ts): the
 * base's and the head's run of the same round, whose windows alternated on servers up together. Rounds with only one
 * side (the other set aside or failed) drop out. Undefined when any run is not a block's: those compare unpaired.
 */
export function pairedByRound(
  base: readonly OkRecord[],
  cur: readonly OkRecord[],
  baseValues: readonly number[],
  curValues: readonly number[],
): { base: number[]; cur: number[] } | undefined {
  const all = [...base, ...cur];
  if (all.length === 0 || all.some((r) => r.block === undefined || r.round === undefined)) return undefined;
  const byRound = (runs: readonly OkRecord[], values: readonly number[]): Map<number, number> =>
    new Map(runs.map((r, i) => [r.round!, values[i]!]));
  const [b, c] = [byRound(base, baseValues), byRound(cur, curValues)];
  const rounds = [...b.keys()].filter((k) => c.has(k)).sort((x, y) => x - y);
  return { base: rounds.map((k) => b.get(k)!), cur: rounds.map((k) => c.get(k)!) };
}

/** One metric of one cell: the test, the interval of the change, and the verdict. */
export function compareMetric(
  base: readonly number[],
  cur: readonly number[],
  metric: Metric,
  options: CompareOptions,
  /** The samples are counted processes (each a measurement of exact windows), not timed runs. */
  counted = false,
  /** The samples as pairs measured together (pairedByRound): tested as pairs, on the ratio within each. */
  pairs?: { base: readonly number[]; cur: readonly number[] },
): Pick<
  CompareRow,
  | 'baseline'
  | 'current'
  | 'nBaseline'
  | 'nCurrent'
  | 'change'
  | 'changeLow'
  | 'changeHigh'
  | 'pValue'
  | 'verdict'
  | 'note'
> {
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  const test = pairs ? comparePaired(pairs.base, pairs.cur, options.alpha) : compareSamples(base, cur, options.alpha);
  const common = {
    baseline: mean(base),
    current: mean(cur),
    nBaseline: base.length,
    nCurrent: cur.length,
    change: test.change,
    changeLow: test.changeLow,
    changeHigh: test.changeHigh,
    pValue: test.pValue,
  };
  // Signed so that positive is worse.
  const worse = metric.better === 'higher' ? -1 : 1;
  const baseRule = COUNT_THRESHOLDS[metric.id];
  // A model whose fresh processes spread wider than the default gets a threshold of its own (the registry's).
  const countRule =
    baseRule && metric.id === 'instructionsPerMsg' && options.instructionThreshold !== undefined
      ? { ...baseRule, relative: Math.max(baseRule.relative, options.instructionThreshold) }
      : baseRule;
  // A count of a counted process is a measurement of exact windows, not a sample of noise: fresh processes repeat
  // within a few per cent (docs/counts.md), and the threshold (1.5 × that spread, at least 1 %) is the test. Each side
  // is its processes' median, so with three a side (the gate's confirmation of a change, see bench/run/confirm.ts) one
  // process at a level of its own moves nothing; one counted run a side, the common case, is judged the same way.
  if (countRule && (counted || base.length < 2 || cur.length < 2) && base.length > 0 && cur.length > 0) {
    const [b, c] = [median(base), median(cur)];
    const change = b > 0 ? (c - b) / b : NaN;
    const beyond = (d: number): boolean => d > countRule.relative && Math.abs(c - b) >= countRule.absolute;
    const verdict = beyond(worse * change) ? 'regression' : beyond(-worse * change) ? 'improvement' : 'same';
    const sides = base.length === cur.length ? `${base.length}` : `${base.length} and ${cur.length}`;
    const what =
      base.length === 1 && cur.length === 1
        ? 'one counted run a side'
        : `the median of ${sides} counted processes a side`;
    return {
      ...common,
      baseline: b,
      current: c,
      change,
      changeLow: NaN,
      changeHigh: NaN,
      pValue: NaN,
      verdict,
      note: `${what}: judged against ±${pct(countRule.relative, false)}${countRule.absolute > 0 ? ` and ${countRule.absolute} per message` : ''}, above the spread of fresh processes`,
    };
  }
  if (pairs && pairs.base.length < minSamples) {
    return {
      ...common,
      verdict: 'inconclusive',
      note: `needs ≥ ${minSamples} blocks with both sides (has ${pairs.base.length})`,
    };
  }
  if (base.length < minSamples || cur.length < minSamples) {
    return {
      ...common,
      verdict: 'inconclusive',
      note: `needs ≥ ${minSamples} runs on each side (has ${base.length} and ${cur.length})`,
    };
  }
  const t = countRule ? countRule.relative : options.threshold;
  // A count's growth must also be real in absolute terms (0.004 → 0.006 context switches per message is noise).
  const absoluteFloor =
    countRule && countRule.absolute > 0 && Math.abs(common.current - common.baseline) < countRule.absolute;
  if (countRule && absoluteFloor && (test.significant || worse * test.change <= t))
    return { ...common, verdict: 'same', note: `changed by less than ${countRule.absolute} per message` };
  // An identical rerun with as many runs as the baseline has a change interval about √2 times the baseline's own:
  // when that reaches the threshold, the baseline cannot tell a change of the threshold's size from its noise, and
  // judging it would fail (or pass) by chance. Measured here: fork-per-connection's echo moved +12 % and +25 % between
  // suites of identical code, with ±12 % within each.
  // Pairs measured together need no such guard: their interval is that of the ratio within each pair, what the
  // machine's movement from one window to the next does not reach.
  const margin = confidenceInterval(base).relativeMargin;
  if (!pairs && base.length >= UNSTABLE_MIN_RUNS && Math.SQRT2 * margin >= t) {
    // A change whose whole interval lies beyond the threshold is proven however noisy the baseline: its noise cannot
    // make that. Measured: an --against session passed a +32.1 % [+11.7 %, +52.4 %] server CPU regression as unstable.
    // In one session the two sides ran interleaved, so Welch's test holds as it is (the instability rule is for
    // suites of different days, whose drift it does not see): significant and beyond the threshold is a regression
    // there too (measured: +20.2 % [+8.2 %, +32.3 %], p = 0.002, had passed as unstable).
    const [worseLow, worseHigh] = worse > 0 ? [test.changeLow, test.changeHigh] : [-test.changeHigh, -test.changeLow];
    const inSession = options.sameSession === true && test.significant;
    const proven = inSession
      ? `significant and beyond ${pct(t, false)} with both sides in one session, although the baseline alone is ±${(margin * 100).toFixed(1)}%`
      : `its whole 95% interval lies beyond ${pct(t, false)}, although the baseline alone is ±${(margin * 100).toFixed(1)}%`;
    if (worseLow > t || (inSession && worse * test.change > t))
      return { ...common, verdict: 'regression', note: proven };
    if (-worseHigh > t || (inSession && -worse * test.change > t))
      return { ...common, verdict: 'improvement', note: proven };
    const needed = runsToResolve(base, t);
    return {
      ...common,
      verdict: 'unstable',
      note:
        `the baseline's own 95% interval is ±${(margin * 100).toFixed(1)}% after ${base.length} runs, too wide to resolve a ${pct(t, false)} change, so it is not gated` +
        (needed !== undefined ? ` (about ${needed} runs a side would resolve it, if the suites agree)` : ''),
    };
  }
  if (test.significant && worse * test.change > t) return { ...common, verdict: 'regression' };
  if (test.significant && -worse * test.change > t) return { ...common, verdict: 'improvement' };
  // A regression gate asks one question: can a change for the worse beyond the threshold be ruled out? So "same"
  // needs the worse end of the interval inside the threshold (a wide interval on the better side does not matter).
  const worstEnd = worse > 0 ? test.changeHigh : -test.changeLow;
  // Significant but estimated below the threshold is not "same" while the interval reaches past it (measured: a
  // patch's +8.4 % [+1.5 %, +15.4 %] server CPU passed as "same" at a 10 % threshold).
  if (worstEnd < t) return { ...common, verdict: 'same' };
  return {
    ...common,
    verdict: 'inconclusive',
    note: `the 95% interval of the change (${pct(test.changeLow)} to ${pct(test.changeHigh)}) reaches ${pct(worse * t)}, so a regression beyond the threshold is not ruled out`,
  };
}

function pct(x: number, signed = true): string {
  return `${signed && x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** Where the two suites ran, when it differs in a way that moves the numbers. */
export function environmentWarnings(baseline: readonly RunRecord[], current: readonly RunRecord[]): string[] {
  const envOf = (rs: readonly RunRecord[]): Environment | undefined => rs[0]?.env;
  const a = envOf(baseline);
  const b = envOf(current);
  if (!a || !b) return [];
  const out: string[] = [];
  const fields: [keyof Environment, string][] = [
    ['hostname', 'machine'],
    ['cpuModel', 'CPU'],
    ['cores', 'CPU count'],
    ['node', 'Node version'],
    ['os', 'kernel'],
  ];
  for (const [field, what] of fields) {
    if (a[field] !== b[field])
      out.push(
        `the baseline ran on another ${what} (${String(a[field])} vs ${String(b[field])}): differences may come from that, not from the code`,
      );
  }
  const drivers = (rs: readonly RunRecord[]): string => [...new Set(rs.map((r) => r.params.driver))].sort().join(',');
  if (drivers(baseline) !== drivers(current))
    out.push(`the suites used different load drivers (${drivers(baseline)} vs ${drivers(current)})`);
  return out;
}

export function compareSuites(
  baseline: readonly RunRecord[],
  current: readonly RunRecord[],
  given: CompareOptions,
): CompareReport {
  const suiteIds = new Set([...baseline, ...current].map((r) => r.suiteId));
  const sameSession = baseline.length > 0 && current.length > 0 && suiteIds.size === 1;
  // Dividing by the reference's nearest run takes out drift between suites of different days; within one session
  // the sides' runs are interleaved, and the division only adds the reference's own noise. Measured over 11 A/A
  // sessions (event-loop and cluster-rr echo, 20 runs a side): per-run CV 15.8 % absolute, 19.2 % divided; the A/A
  // change spread 4.2 % and 5.9 % (one reference 6 % faster on one side moved both models −13 % at once).
  const { reference: _dropped, ...unnormalized } = given;
  const options: CompareOptions = { ...(sameSession ? unnormalized : given), sameSession };
  const base = cellSamples(baseline, options.reference);
  const cur = cellSamples(current, options.reference);
  const rows: CompareRow[] = [];
  const dropped: CompareReport['dropped'] = [];
  const compared = new Set<string>();
  const row = (
    key: string,
    c: CellSamples,
    metric: MetricName,
    rest: Omit<CompareRow, 'key' | 'workload' | 'model' | 'metric'>,
  ): CompareRow => ({
    key,
    workload: c.workload,
    model: c.model,
    metric,
    ...rest,
    ...(metric === 'throughput' && options.reference ? { normalized: true } : {}),
  });
  for (const [key, c] of cur) {
    const b = base.get(key);
    for (const metric of Object.keys(METRICS) as MetricName[]) {
      const has = (x: CellSamples): Set<SampleSource> =>
        new Set(sourcesFor(metric, 'gate').filter((src) => x.bySource[src].values[metric] !== undefined));
      if (!b) {
        const src = commonSource(metric, 'gate', [has(c)]);
        const curValues = src ? c.bySource[src].values[metric] : undefined;
        if (curValues)
          rows.push(
            row(key, c, metric, {
              ...emptyComparison(),
              current: mean(curValues),
              nCurrent: curValues.length,
              verdict: 'new',
            }),
          );
        continue;
      }
      // Both sides from one source (metrics.ts: commonSource), never one side's timed runs against the other's counted.
      const source = commonSource(metric, 'gate', [has(b), has(c)]);
      if (!source) {
        const why = c.missing[metric] ?? b.missing[metric];
        if (why) dropped.push({ key, metric, reason: `${c.missing[metric] ? 'current' : 'baseline'}: ${why}` });
        else if (has(b).size > 0 && has(c).size > 0)
          dropped.push({
            key,
            metric,
            reason: `not compared: the baseline has only ${[...has(b)].join(' and ')} runs of it, the current suite only ${[...has(c)].join(' and ')} (a count under callgrind is not comparable with one at full speed)`,
          });
        continue;
      }
      const baseValues = b.bySource[source].values[metric]!;
      const curValues = c.bySource[source].values[metric]!;
      compared.add(key);
      // A model whose counts vary between processes (a thread handoff's timing moves its instructions and its
      // wake-up syscalls alike: piscina's counted syscalls/msg 2.50–2.93 in identical processes) is judged by timing.
      const varies = METRICS[metric].kind === 'count' ? options.countsVary?.get(c.model) : undefined;
      const own =
        options.instructionThresholds?.get(`${c.model}/${c.workload}`) ?? options.instructionThresholds?.get(c.model);
      const counted = source === 'counted';
      const pairs =
        options.sameSession && !counted
          ? pairedByRound(
              b.bySource.timed.runs[metric] ?? [],
              c.bySource.timed.runs[metric] ?? [],
              baseValues,
              curValues,
            )
          : undefined;
      const judged = {
        ...compareMetric(
          baseValues,
          curValues,
          METRICS[metric],
          own !== undefined ? { ...options, instructionThreshold: own } : options,
          counted,
          pairs,
        ),
        ...(counted ? { counted } : {}),
        ...(pairs ? { paired: pairs.base.length } : {}),
      };
      rows.push(
        row(
          key,
          c,
          metric,
          varies
            ? {
                ...judged,
                verdict: 'unstable',
                note: `not gated: ${c.model}'s counts vary between fresh processes of the same code (${varies}); its timing decides the cell`,
              }
            : judged,
        ),
      );
    }
  }
  for (const [key, b] of base) {
    if (cur.has(key)) continue;
    for (const metric of Object.keys(METRICS) as MetricName[]) {
      const v = b.bySource.timed.values[metric] ?? b.bySource.counted.values[metric];
      if (v)
        rows.push(
          row(key, b, metric, { ...emptyComparison(), baseline: mean(v), nBaseline: v.length, verdict: 'missing' }),
        );
    }
  }
  // What decides a cell: its instruction counts when both sides have them (timing then only informs: on a shared
  // machine it moves with the neighbours); otherwise its server CPU µs/msg, unless that is itself undecided. A metric
  // that defers to it (throughput, p99) fails an undecided cell only when that is undecided too; one that reports
  // (context switches) never fails. Syscalls always gate: a change that adds a write per message shows there first.
  const counted = new Set(
    rows
      .filter(
        (r) =>
          r.metric === 'instructionsPerMsg' &&
          r.verdict !== 'new' &&
          r.verdict !== 'missing' &&
          r.verdict !== 'unstable',
      )
      .map((r) => r.key),
  );
  const decidedByCpu = new Set(
    rows
      .filter((r) => r.metric === 'cpuPerMsg' && (r.verdict === 'same' || r.verdict === 'improvement'))
      .map((r) => r.key),
  );
  for (const r of rows) {
    const { kind, inGate } = METRICS[r.metric];
    if ((counted.has(r.key) && kind === 'timing') || inGate === 'reports') {
      r.informational = true;
      if (r.verdict === 'inconclusive') r.gating = false;
    } else if (r.verdict === 'inconclusive') r.gating = inGate === 'decides' || !decidedByCpu.has(r.key);
  }
  const judged = rows.filter((r) => r.verdict !== 'unstable' && r.verdict !== 'new' && r.verdict !== 'missing');
  return {
    rows,
    basis: options.reference
      ? `throughput relative to ${options.reference}'s run nearest in time in the same suite`
      : sameSession
        ? 'absolute msgs/s (both sides in one session, runs interleaved)'
        : 'absolute msgs/s',
    regressions: rows.filter((r) => r.verdict === 'regression' && !r.informational),
    inconclusive: rows.filter((r) => r.verdict === 'inconclusive' && r.gating),
    dropped,
    unstable: rows.filter((r) => r.verdict === 'unstable'),
    compared: compared.size,
    gated: new Set(judged.map((r) => r.key)).size,
    environmentWarnings: environmentWarnings(baseline, current),
  };
}

function emptyComparison(): Omit<CompareRow, 'key' | 'workload' | 'model' | 'metric' | 'verdict'> {
  return {
    baseline: NaN,
    current: NaN,
    nBaseline: 0,
    nCurrent: 0,
    change: NaN,
    changeLow: NaN,
    changeHigh: NaN,
    pValue: NaN,
  };
}

/** The gate's decision: 1 on a regression, on nothing compared, or on an undecided cell unless allowed. */
export function gateFails(report: CompareReport, allowInconclusive: boolean): { fails: boolean; why: string } {
  if (report.regressions.length > 0) {
    return {
      fails: true,
      why: `${report.regressions.length} regression(s): ${report.regressions.map((r) => `${r.key} (${METRICS[r.metric].label})`).join(', ')}`,
    };
  }
  if (report.compared === 0) return { fails: true, why: 'nothing was compared: no cell is comparable in both suites' };
  if (report.gated === 0)
    return {
      fails: true,
      why: `nothing was gated: every compared metric's baseline is too noisy to resolve the threshold (${report.unstable.length} unstable)`,
    };
  if (report.inconclusive.length > 0 && !allowInconclusive) {
    return {
      fails: true,
      why: `${report.inconclusive.length} comparison(s) inconclusive (use --allow-inconclusive to pass them): ${report.inconclusive.map((r) => `${r.key} (${METRICS[r.metric].label})`).join(', ')}`,
    };
  }
  const ungated =
    report.unstable.length > 0
      ? `; not gated (too noisy to judge, see their notes): ${report.unstable.map((r) => `${r.key} (${METRICS[r.metric].label})`).join(', ')}`
      : '';
  return { fails: false, why: `no regression in ${report.gated} gated cell(s)${ungated}` };
}
