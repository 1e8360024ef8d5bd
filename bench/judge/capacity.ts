/**
 * Capacity at a latency objective (--slo p99=10ms): the highest offered rate at which a model holds the objective.
 * Pure: every step, the search's next rate and the ranking are functions of the step runs' records, so the search
 * (bench/run/capacity-search.ts) and a re-rendered report decide alike.
 *
 * A step is a rate, run open loop (latency from each message's intended send time) in fresh servers, repeated:
 *   - it holds when every run achieved ≥ 99 % of the rate with no timeout or error, and the 95 % interval of the
 *     percentile (over runs, on its log) lies below the objective: it provably holds;
 *   - it fails when most of its runs (two at least) missed the rate, or the interval lies above the objective: it
 *     provably does not;
 *   - otherwise it gets another run, up to STEP_RUNS.max; a step still undecided then lies inside the capacity's
 *     interval, and the search narrows each end towards it. Deciding such a step by the majority of its runs had
 *     made a 2 % bracket of a coin's throw: three searches within an hour put Node models' cpu capacities 5–17 %
 *     apart, each bracket 2 % wide and "?" (decided by majority) at an end.
 * 95 %, not the suite's 90 %: a search decides some ten steps near the knee, and one false verdict moves an end. On a
 * simulated server whose capacity wanders ±15 % from run to run (and 15 % of runs meet a pause), two searches'
 * intervals overlapped in 93 % of 435 pairs at 95 %, 80 % at 90 %, for 7 % more runs and intervals 16 % wide, not 11.
 * The driver's own limit is found the same way, on the native epoll server (a reference whose per-frame cost is
 * negligible): it is searched first, no model's search goes past the rate it failed at, and a model that held ≥ 90 %
 * of what it held is driver-bound — "≥ the rate held", never ranked. The driver's CPU cannot say it: open loop, it
 * keeps its thread busy at any rate (95–98 % measured at 155k and at 6M frames/s on 50 connections).
 *
 * A workload open loop already (its rate given) has one step, at its rate: whether each model holds the objective
 * there, judged as any step (k6's thresholds on a fixed arrival rate, with repetition and an interval).
 *
 * The search (after Nighthawk's adaptive load controller, with repetition and percentiles): the first step at the
 * model's closed-loop throughput; ×2 while steps hold, ÷2 while they fail, until the capacity is bracketed; then the
 * geometric middle of each end's gap until it is within 2 % (bench/run/capacity-search.ts runs a workload's models'
 * searches in turns, a run each a round, so a drift of the machine weighs on every model's steps alike).
 *
 * Drift: the places are judged on one search's brackets, where a drift weighs on all models alike; a capacity as a
 * figure of the machine is not known more closely than the machine holds still. The reference is searched again after
 * every model's search, and each capacity's range is its bracket widened by how far the reference's moved between
 * the two (`Drift`). A bracket 1 % wide had said otherwise: native-epoll's cpu capacity, 4,556–4,606 msgs/s, then
 * 4,497–4,546 in a search right after — its knee is sharp (p99 6.5 ms, then 17 ms, 1 % further) and the machine
 * moved 1.3 %.
 */
import type { OkRecord, RunRecord } from '../data/record.js';
import { percentileOf, type Objective } from '../data/slo.js';
import { mean, median, sampleStandardDeviation } from '../data/stats.js';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { formatLatency, formatRate } from '../../lib/format/units.js';

export const STEP_RUNS = { min: 2, max: 5 } as const;
/** Messages beyond the objective's percentile a step's window should hold, and the longest window that buys. */
export const STEP_TAIL = { messages: 50, maxSec: 2 } as const;
const TAIL_SHARE: Record<Objective['percentile'], number> = { p50: 0.5, p90: 0.1, p99: 0.01, p999: 0.001 };

/**
 * A step's window: the profile's, or long enough that STEP_TAIL.messages lie beyond the percentile (up to its cap).
 * A p99 from 0.5 s at 4k msgs/s rests on its 20 slowest messages, and one stall of the machine moved it from 2.8 to
 * 15 ms between runs at one rate. Pure.
 */
export function stepWindowSec(rate: number, objective: Objective, baseSec: number): number {
  const need = STEP_TAIL.messages / (TAIL_SHARE[objective.percentile] * rate);
  return Math.max(baseSec, Math.min(STEP_TAIL.maxSec, need));
}
/** The search ends when the bracket's two rates are this close (fail / held − 1). */
export const PRECISION = 0.02;
/** At most this many steps a search (bracketing from far off takes ~6, bisecting 50 % down to 2 % ~5). */
export const MAX_STEPS = 16;
/** A step's rate must be achieved to this fraction (the rest is the driver's or the server's backlog). */
export const ACHIEVED = 0.99;
/** The search's factor while bracketing: ×2 from the closed-loop throughput; the reference searched again starts at
 * the rate it held and brackets in steps of 4 % (twice the precision), which finds a knee it already knows in ~3. */
export const BRACKET_FACTOR = 2;
export const AGAIN_FACTOR = 1 + 2 * PRECISION;

export type StepVerdict = 'holds' | 'fails' | 'undecided';

export interface StepRun {
  record: OkRecord;
  /** msgs/s answered. */
  achieved: number;
  /** The objective's percentile of this run, µs. */
  latencyUs: number;
  /** Why this run did not hold its rate (missed it, timeouts, errors, wrong bytes). */
  missed?: string;
  driverSaturated: boolean;
  /**
   * Connections never answered in the window; `capped` when the model serves fewer at once than the workload opens
   * (its readiness wait expected fewer: iterative 1, fork-per-connection 32), not a loop too far behind to reach them.
   */
  starved?: { served: number; total: number; capped: boolean };
}

export interface Step {
  rate: number;
  runs: StepRun[];
  /** Runs that errored (a server that died under the rate fails the step). */
  errored: string[];
  verdict: StepVerdict;
  /** The deciding figure, for people: "p99 1.2 ms [0.9, 1.6]", "achieved 48.1k of 52.0k msgs/s". */
  why: string;
  /** Median over the step's runs, µs: the curve's points. */
  latency: { p50: number; p99: number; p999: number };
  /** The objective's percentile, median over the step's runs, µs. */
  objectiveUs: number;
  /** Median server CPU % over its runs (of one core). */
  serverCpuPercent?: number;
}

/** The search's end: the capacity as a bracket, and why it ended where it did. */
export interface CapacityResult {
  /** The highest rate shown to hold. */
  held?: number;
  /** The lowest rate shown to fail (above held). */
  failed?: number;
  /** The capacity is the driver's: "≥ held", not ranked. */
  driverBound: boolean;
  /** Rates inside the interval that stayed undecided after all their runs: the objective met there in some runs, not
   * in others (the lowest and the highest such). */
  undecided?: [number, number];
  /** Why the search ended where it did (no rate held, the driver's limit, …). */
  note?: string;
  /** The capacity with the machine's drift over the search (`Drift`): held × its low factor (≤ 1), failed × its high
   * (≥ 1); no `high` where nothing failed. Absent where the drift was not measured. */
  range?: { low: number; high?: number };
}

/** The machine's drift over a workload's search: the reference (the native server) searched again after every model's
 * search, and how far its capacity moved, again ÷ first, as the two brackets allow: [low, high]. */
export interface Drift {
  model: string;
  first: CapacityResult;
  again: CapacityResult;
  factor?: [number, number];
}

/** One record's step marker: the objective it was searched for, and the rate it was offered. */
export type SloMarker = NonNullable<RunRecord['slo']>;

function stepRun(r: OkRecord, objective: Objective): StepRun {
  const rate = r.slo!.rate;
  const achieved = r.result.msgsPerSec;
  const e = r.result.errors;
  const c = r.result.connections;
  const capped = (r.result.readiness?.expected ?? Number.POSITIVE_INFINITY) < (c?.total ?? 0);
  const starved = c && c.served < c.total ? { served: c.served, total: c.total, capped } : undefined;
  const missed =
    e.mismatches > 0
      ? `${e.mismatches} wrong answers`
      : starved
        ? `served ${starved.served} of ${starved.total} connections, the rest never answered`
        : e.timeouts > 0
          ? `${e.timeouts} timeouts`
          : achieved < ACHIEVED * rate
            ? `achieved ${formatRate(achieved)} of ${formatRate(rate)} msgs/s`
            : Object.entries(e).some(([k, v]) => k !== 'mismatches' && k !== 'timeouts' && v > 0)
              ? 'connection errors'
              : undefined;
  return {
    record: r,
    achieved,
    latencyUs: percentileOf(r.result.latency, objective.percentile),
    ...(missed ? { missed } : {}),
    driverSaturated: r.result.client.saturated,
    ...(starved ? { starved } : {}),
  };
}

/** How far a run's log percentile lies from its step's mean, as a variance with its degrees of freedom. */
export interface Spread {
  variance: number;
  df: number;
}

/** The runs that held their rate: the ones whose percentile says something. */
const keptTheRate = (runs: readonly StepRun[]): StepRun[] => runs.filter((r) => r.missed === undefined);
const logOf = (r: StepRun): number => Math.log(Math.max(1, r.latencyUs));

/**
 * The run-to-run spread of the log percentile pooled over a search's steps (each step's runs about their own mean):
 * how much one window's p99 moves on this machine, from every step rather than a step's two or three runs. Two runs
 * at one rate can lie close by chance — worker-threads' 17.1 and 17.3 ms at 4,321 msgs/s had "failed" it on an
 * interval 1 % wide, where the rates around it, at five runs each, spread 4–48 ms. Undefined below two runs a step.
 * A step of fewer than five runs takes the wider of this and its own. Simulated (the capacity wandering ±8 or ±15 % a
 * run, with or without 15 % of runs paused), two searches overlapped in 95–100 % of pairs, against 82–97 % on each
 * step's own spread, for 17–22 % more runs and intervals 11–19 % wide (11–16 %). The pooled spread alone overlapped
 * in 93–99 %, for more runs; the wider of the two at every step in 100 %, but 16–31 % wide for ~50 % more runs.
 */
export function pooledSpread(steps: readonly (readonly StepRun[])[]): Spread | undefined {
  let sum = 0;
  let df = 0;
  for (const runs of steps) {
    const logs = keptTheRate(runs).map(logOf);
    if (logs.length < 2) continue;
    sum += (logs.length - 1) * sampleStandardDeviation(logs) ** 2;
    df += logs.length - 1;
  }
  return df > 0 ? { variance: sum / df, df } : undefined;
}

/** A step's verdict from its runs so far (STEP_RUNS.max of them complete it); `pooled`: the search's spread over all
 * its steps, which a step of fewer runs takes where it is wider than its own (pooledSpread). Pure. */
export function judgeStep(
  runs: readonly StepRun[],
  errored: readonly string[],
  objective: Objective,
  pooled?: Spread,
): Pick<Step, 'verdict' | 'why'> {
  const n = runs.length + errored.length;
  const complete = n >= STEP_RUNS.max;
  const missed = runs.filter((r) => r.missed !== undefined);
  const failures = missed.length + errored.length;
  const firstMiss = errored[0] !== undefined ? `a run errored: ${errored[0]}` : missed[0]?.missed;
  // Most of its runs (two at least) missed the rate, or a server died under it: it fails. Two misses among five are
  // neither: the rate is not shown to hold, nor not to.
  if ((failures >= 2 && failures * 2 > n) || (errored.length > 0 && complete))
    return { verdict: 'fails', why: failures >= 2 ? `${failures} of ${n} runs missed: ${firstMiss}` : firstMiss! };
  if (!complete && (failures > 0 || runs.length < STEP_RUNS.min))
    return {
      verdict: 'undecided',
      why: failures > 0 ? `${failures} of ${n} runs missed (${firstMiss})` : 'too few runs',
    };
  const name = objective.text.split(' ')[0]!;
  const clean = keptTheRate(runs);
  const logs = clean.map(logOf);
  const m = mean(logs);
  const own: Spread | undefined =
    logs.length >= 2 ? { variance: sampleStandardDeviation(logs) ** 2, df: logs.length - 1 } : undefined;
  // Fewer than five runs say little of their own spread: the wider of it and the search's.
  const spread =
    own && own.df >= STEP_RUNS.max - 1 ? own : pooled && (!own || pooled.variance > own.variance) ? pooled : own;
  if (!spread) return { verdict: 'undecided', why: 'too few runs' };
  const half = tQuantile(0.975, spread.df) * Math.sqrt(spread.variance / logs.length);
  const [low, high] = [Math.exp(m - half), Math.exp(m + half)];
  // Two runs far apart give an interval no one can read ("[0 µs, 190419.26 s]" from 2.9 and 40 ms): past 100× wide,
  // the runs themselves are said instead. The verdict is the interval's either way.
  const latencies = clean.map((r) => r.latencyUs);
  const figure =
    high <= 100 * low
      ? `${name} ${formatLatency(Math.exp(m))} [${formatLatency(low)}, ${formatLatency(high)}]`
      : `${name} ${formatLatency(Math.exp(m))} (runs ${formatLatency(Math.min(...latencies))}–${formatLatency(Math.max(...latencies))}, too few to bound it)`;
  // One run that missed among five is weighed with the others (one window 2.4 % short, 140.6k of 144.1k msgs/s, had
  // failed worker-threads' first echo step where the other session held ≥ 5M); two are not.
  if (high <= objective.limitUs && failures <= (complete ? 1 : 0))
    return { verdict: 'holds', why: failures > 0 ? `${figure}; 1 of ${n} runs missed (${firstMiss})` : figure };
  if (low > objective.limitUs) return { verdict: 'fails', why: figure };
  const met = clean.filter((r) => r.latencyUs <= objective.limitUs).length;
  const straddles =
    failures > 1
      ? `${failures} of ${n} runs missed (${firstMiss})`
      : `${figure} straddles ${formatLatency(objective.limitUs)}${complete ? `: ${met} of ${n} runs met it` : ''}`;
  return { verdict: 'undecided', why: straddles };
}

/** A step that stays undecided after all its runs: the objective is met at its rate in some runs, not in others. */
export function settledUndecided(s: Pick<Step, 'verdict' | 'runs' | 'errored'>): boolean {
  return s.verdict === 'undecided' && s.runs.length + s.errored.length >= STEP_RUNS.max;
}

/** The steps of one cell's search, in the order first tried. Pure. */
export function stepsOf(
  records: readonly RunRecord[],
  objective: Objective,
  /** Steps of an earlier search of the same model whose spread is pooled too (the reference searched again: its
   * first step, alone, had held on two runs of the same p99, an interval 0 wide). */
  earlier: readonly RunRecord[] = [],
): Step[] {
  const group = (rs: readonly RunRecord[]) => {
    const byRate = new Map<number, RunRecord[]>();
    for (const r of rs) {
      if (!r.slo || r.status === 'skipped' || r.status === 'interrupted') continue;
      if (r.status === 'ok' && r.discarded) continue;
      byRate.set(r.slo.rate, [...(byRate.get(r.slo.rate) ?? []), r]);
    }
    return [...byRate].map(([rate, byIt]) => ({
      rate,
      runs: byIt.filter((r): r is OkRecord => r.status === 'ok').map((r) => stepRun(r, objective)),
      errored: byIt.flatMap((r) => (r.status === 'errored' ? [r.reason] : [])),
    }));
  };
  const grouped = group(records);
  const pooled = pooledSpread([...grouped, ...group(earlier)].map((g) => g.runs));
  return grouped.map(({ rate, runs, errored }) => {
    const pick = (k: 'p50' | 'p99' | 'p999'): number => median(runs.map((r) => r.record.result.latency[k]));
    const cpu = runs.flatMap((r) =>
      r.record.server.usage?.cpuPercent !== undefined ? [r.record.server.usage.cpuPercent] : [],
    );
    return {
      rate,
      runs,
      errored,
      ...judgeStep(runs, errored, objective, pooled),
      latency: { p50: pick('p50'), p99: pick('p99'), p999: pick('p999') },
      objectiveUs: median(runs.map((r) => r.latencyUs)),
      ...(cpu.length > 0 ? { serverCpuPercent: median(cpu) } : {}),
    };
  });
}

/** Rising from a rate that stayed undecided with nothing failed above it: this much a step (it is near the knee). */
export const ZONE_RISE = 1.25;

/** The geometric middle of two rates, when a whole rate lies strictly between them. */
function middle(a: number, b: number): number | undefined {
  const m = Math.round(Math.sqrt(a * b));
  return m > a && m < b ? m : undefined;
}

/**
 * Where the search goes next from its steps so far: the rate of the next run, or the end and its result. The result
 * is an interval, [the highest rate shown to hold, the lowest shown to fail]; a rate still undecided after all its
 * runs (the objective met in some runs, not in others) lies inside it, and the search then narrows each end towards
 * such rates separately: both ends within 2 % of the nearest undecided rate, or of each other. Pure.
 */
export function nextStep(
  steps: readonly Step[],
  start: number,
  /** The rate the driver failed at on the reference server: no step goes past it. */
  cap = Infinity,
  /** The workload's own rate: the one step, checked rather than searched. */
  fixed = false,
  /** ×factor while steps hold, ÷factor while they fail, until the capacity is bracketed. */
  factor: number = BRACKET_FACTOR,
): { rate: number } | { done: CapacityResult } {
  if (steps.length === 0) return { rate: Math.max(1, Math.round(Math.min(start, cap))) };
  if (fixed) {
    // One rate, so no search's spread to lean on: it runs all its runs, unless its runs already missed the rate.
    const s = steps[0]!;
    const missedOut = s.runs.filter((r) => r.missed !== undefined).length + s.errored.length >= 2;
    const more = s.runs.length + s.errored.length < STEP_RUNS.max && !(s.verdict === 'fails' && missedOut);
    return more ? { rate: s.rate } : { done: bracket(steps) };
  }
  const open = steps.find((s) => s.verdict === 'undecided' && !settledUndecided(s));
  if (open) return { rate: open.rate };
  if (steps.length >= MAX_STEPS) return { done: bracket(steps, `stopped after ${MAX_STEPS} steps`) };
  const { held, failed, zone } = bounds(steps);
  if (held === undefined) {
    // Connections never answered where nothing has held, by a model that serves fewer at once than there are: a
    // lower rate serves no more of them (iterative, fork-per-connection under 50 connections went down seven
    // halvings, 30–60 runs, to fail at 22–58 msgs/s). An overloaded loop leaves connections unanswered too
    // (event-loop at 7.6k msgs/s of cpu work answered 2 of 50): that is a step too high, and the search halves.
    const starved = steps.flatMap((s) => s.runs).find((r) => r.starved?.capped)?.starved;
    if (starved)
      return {
        done: bracket(
          steps,
          `no rate held: it served ${starved.served} of the ${starved.total} connections at once, and a lower rate does not serve more`,
        ),
      };
    const lowest = Math.min(...steps.map((s) => s.rate));
    const next = Math.min(lowest - 1, Math.round(lowest / factor));
    return next < Math.max(1, start / 256)
      ? { done: bracket(steps, `no rate held down to ${formatRate(lowest)} msgs/s`) }
      : { rate: next };
  }
  if (failed === undefined) {
    const top = Math.max(held, ...zone);
    const rise = zone.length > 0 ? Math.min(ZONE_RISE, factor) : factor;
    const next = Math.round(Math.min(Math.max(top + 1, top * rise), cap));
    if (next <= top)
      return {
        done: bracket(steps, `held up to ${formatRate(top)} msgs/s, where the driver gave out on the reference`),
      };
    return next > 256 * start
      ? { done: bracket(steps, `held up to ${formatRate(top)} msgs/s; higher rates not tried`) }
      : { rate: next };
  }
  // The lower end towards the first undecided rate (or the failed one), then the upper end from the last one.
  const lowGap = zone.length > 0 ? Math.min(...zone) : failed;
  if (lowGap / held - 1 > PRECISION) {
    const m = middle(held, lowGap);
    if (m !== undefined) return { rate: m };
  }
  if (zone.length > 0 && failed / Math.max(...zone) - 1 > PRECISION) {
    const m = middle(Math.max(...zone), failed);
    if (m !== undefined) return { rate: m };
  }
  return { done: bracket(steps) };
}

/**
 * The interval's ends and what lies between them: the highest rate held with nothing failed below it, the lowest
 * failed with nothing held or met in some runs above it, and every rate settled between the two (undecided after all
 * its runs, or a verdict the other side contradicts). Verdicts that disagree — a rate failed below one that held or
 * met the objective in some runs — are both kept inside the interval, not resolved by taking the lowest failure:
 * cluster-none's cpu step at 4,302 msgs/s "failed" on two runs below three rates (to 4,641) that met the objective in
 * 1–3 of 5, and the interval read 4,256–4,302 where a search right after found 4,676–5,384.
 */
function bounds(steps: readonly Step[]): { held?: number; failed?: number; zone: number[] } {
  const ratesWhere = (keep: (s: Step) => boolean): number[] => steps.filter(keep).map((s) => s.rate);
  const fails = ratesWhere((s) => s.verdict === 'fails');
  const metSome = ratesWhere((s) => s.verdict === 'holds' || settledUndecided(s));
  const ends = fails.filter((f) => metSome.every((r) => r < f));
  const failed = ends.length > 0 ? Math.min(...ends) : undefined;
  const holds = ratesWhere((s) => s.verdict === 'holds').filter((h) => fails.every((f) => f > h));
  const held = holds.length > 0 ? Math.max(...holds) : undefined;
  const zone = ratesWhere(
    (s) =>
      (s.verdict !== 'undecided' || settledUndecided(s)) &&
      (held === undefined || s.rate > held) &&
      (failed === undefined || s.rate < failed),
  );
  return { ...(held !== undefined ? { held } : {}), ...(failed !== undefined ? { failed } : {}), zone };
}

/** The capacity interval the steps support, and the undecided rates inside it. */
function bracket(steps: readonly Step[], note?: string): CapacityResult {
  const { held, failed, zone } = bounds(steps);
  const undecided: [number, number] | undefined = zone.length > 0 ? [Math.min(...zone), Math.max(...zone)] : undefined;
  const disagree = steps.some((s) => s.verdict !== 'undecided' && zone.includes(s.rate));
  const inside = undecided
    ? `undecided at ${undecided[0] === undecided[1] ? formatRate(undecided[0]) : `${formatRate(undecided[0])}–${formatRate(undecided[1])}`} msgs/s${disagree ? ': verdicts there disagree (a rate failed below one that held or met the objective in some runs)' : ` after ${STEP_RUNS.max} runs a step: the objective was met there in some runs, not in others`}`
    : undefined;
  const notes = [note, inside].filter((x): x is string => x !== undefined);
  return {
    ...(held !== undefined ? { held } : {}),
    ...(failed !== undefined ? { failed } : {}),
    driverBound: false,
    ...(undecided ? { undecided } : {}),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** A finished (or interrupted) search's result from its steps. Pure. */
export function capacityOf(
  steps: readonly Step[],
  start: number,
  cap?: number,
  fixed = false,
  factor: number = BRACKET_FACTOR,
): CapacityResult {
  const next = nextStep(steps, start, cap, fixed, factor);
  if ('done' in next) return next.done;
  // A check at one rate stopped before its five runs is undecided: two runs that agree prove less than their
  // interval says (a stopped check had reported "holds" from two).
  if (fixed) {
    const n = steps.reduce((k, s) => k + s.runs.length + s.errored.length, 0);
    return { driverBound: false, note: `the check did not finish (${n} of ${STEP_RUNS.max} runs): undecided` };
  }
  return bracket(steps, 'the search did not finish');
}

/** How far the reference's capacity moved between its two searches, as their brackets allow. Pure. */
export function driftOf(model: string, first: CapacityResult, again: CapacityResult): Drift {
  const { held: h1, failed: f1 } = first;
  const { held: h2, failed: f2 } = again;
  const measured = h1 !== undefined && f1 !== undefined && h2 !== undefined && f2 !== undefined;
  return { model, first, again, ...(measured ? { factor: [h2 / f1, f2 / h1] as [number, number] } : {}) };
}

/** A capacity widened by the machine's drift: held × the low factor (≤ 1), failed × the high one (≥ 1). Pure. */
export function withDrift(result: CapacityResult, drift: Drift | undefined): CapacityResult {
  if (!drift?.factor || result.held === undefined) return result;
  const [low, high] = drift.factor;
  return {
    ...result,
    range: {
      low: result.held * Math.min(1, low),
      ...(result.failed !== undefined ? { high: result.failed * Math.max(1, high) } : {}),
    },
  };
}

/** A searched capacity's place (winner … ceiling); at a workload's own rate, whether the objective holds there. */
export type CapacityStatus =
  | 'winner'
  | 'tie'
  | 'beaten'
  | 'behind'
  | 'undecided'
  | 'driver-bound'
  | 'none'
  | 'ceiling'
  | 'holds'
  | 'fails';

export interface CapacityCell {
  model: string;
  result: CapacityResult;
  steps: Step[];
  status: CapacityStatus;
  /** Capacity relative to the leader's, as the bracket allows: [low, high]. */
  relative?: [number, number];
  /** What ran out at the first rate above the capacity not held: "server CPU", "one loop" (a single-threaded model's
   * CPU, others left), "the driver" (the reference), "queueing" (latency grew while CPU was left: queues, handoffs),
   * "connections" (it serves fewer at once than the workload opens). */
  ranOut?: string;
}

export interface CapacityRow {
  protocol: string;
  workload: string;
  objective: Objective;
  margin: number;
  /** The workload's own rate, when the objective was checked at it rather than each capacity searched. */
  rate?: number;
  /** The reference searched again after every model: the machine's drift, by which each capacity's range is widened. */
  drift?: Drift;
  cells: CapacityCell[];
  /** The leader and the models tied with it (at a workload's own rate: the models that hold it); empty while
   * undecided. */
  winners: string[];
  decided: boolean;
}

/** What ran out at a failed step: the driver, every server CPU, one loop's CPU, or nothing yet (queueing). */
function ranOutAt(step: Step | undefined, serverCpus: number, singleThreaded: boolean): string | undefined {
  if (!step) return undefined;
  const starved = step.runs.find((r) => r.starved?.capped)?.starved;
  // Short: a column of the first screen (the capacity note says what each means).
  if (starved) return `connections (${starved.served} of ${starved.total} at once)`;
  const cpu = step.serverCpuPercent;
  if (cpu === undefined) return undefined;
  if (cpu >= 85 * serverCpus) return `server CPU (${Math.round(cpu)}% of ${serverCpus})`;
  if (singleThreaded && cpu >= 85) return `one loop (${Math.round(cpu)}% of a CPU)`;
  return `queueing (CPU ${Math.round(cpu)}% of ${serverCpus})`;
}

/**
 * The capacity rows: per workload, every model's capacity ranked against the leader's (the highest rate held) at the
 * margin — tied when the ratio the two brackets allow lies within ±margin, beaten when it lies wholly below it,
 * behind when it is provably lower but by about the margin, undecided otherwise. A driver-bound capacity is a lower
 * bound and is not ranked; nor is a reference (the native ceiling).
 */
export function capacityRows(
  records: readonly RunRecord[],
  o: { margin: number; references: readonly string[]; singleThreaded: readonly string[] },
): CapacityRow[] {
  const withSlo = records.filter((r) => r.slo !== undefined && (r.side === undefined || r.side === 'head'));
  const rows = new Map<string, RunRecord[]>();
  for (const r of withSlo) {
    const key = `${r.params.protocol}/${r.workload}`;
    rows.set(key, [...(rows.get(key) ?? []), r]);
  }
  return [...rows.values()].map((all) => {
    const first = all[0]!;
    if (first.slo!.fixed) return fixedRateRow(all, o);
    // The reference's second search is the drift's, not a step of its capacity.
    const rs = all.filter((r) => !r.slo!.again);
    const again = all.filter((r) => r.slo!.again);
    const objective = first.slo!.objective;
    const models = [...new Set(rs.map((r) => r.model))];
    const searchOf = (model: string): CapacityResult => {
      const mine = rs.filter((r) => r.model === model);
      return capacityOf(stepsOf(mine, objective), mine[0]!.slo!.start, mine[0]!.slo!.cap);
    };
    const againModel = again[0]?.model;
    const drift =
      againModel !== undefined && models.includes(againModel)
        ? driftOf(
            againModel,
            searchOf(againModel),
            capacityOf(
              stepsOf(
                again,
                objective,
                rs.filter((r) => r.model === againModel),
              ),
              again[0]!.slo!.start,
              again[0]!.slo!.cap,
              false,
              AGAIN_FACTOR,
            ),
          )
        : undefined;
    // The driver's own limit: the reference's capacity, where the native server's per-frame cost is negligible (no
    // handler work); with handler work it is a model like the others.
    const ceiling = models
      .filter((m) => o.references.includes(m) && first.params.work === 'none')
      .map(searchOf)
      .find((r) => r.held !== undefined);
    // The lowest the driver's limit was seen at over the search: the reference's held rate times the drift's low
    // factor. (worker-threads' echo failed at 5.17M where the reference had held 5.26M first and 4.91M searched
    // again: ranked on the first alone, it was the "leader" below four driver-bound models.)
    const driverLow = ceiling ? (withDrift(ceiling, drift).range?.low ?? ceiling.held!) : undefined;
    const cells: CapacityCell[] = models.map((model) => {
      const mine = rs.filter((r) => r.model === model);
      const steps = stepsOf(mine, objective);
      const own = capacityOf(steps, mine[0]!.slo!.start, mine[0]!.slo!.cap);
      // Driver-bound: it held ≥ 90 % of the driver's lowest limit, or nothing failed below that limit and it stayed
      // undecided up there (cluster-rr's echo held 2.52M and stayed undecided at 5.05M–6.04M: the ranking had put it
      // "? ≥ 0.0" of a leader that held 4.91M). A failure at or above the limit may be the driver's, not the model's
      // (worker-threads' echo, undecided at 3.96M–5.46M, "failed" at the 5.54M the reference failed at, had been
      // ranked the leader below four driver-bound models).
      const limit = driverLow !== undefined ? 0.9 * driverLow : Infinity;
      const failedBelowDriver = own.failed !== undefined && (driverLow === undefined || own.failed < driverLow);
      const failedAtDriver = own.failed !== undefined && !failedBelowDriver;
      const undecidedAtLimit = !failedBelowDriver && (own.undecided?.[1] ?? 0) >= limit;
      const result: CapacityResult =
        !o.references.includes(model) &&
        own.held !== undefined &&
        (own.held >= limit || failedAtDriver || undecidedAtLimit)
          ? {
              ...own,
              driverBound: true,
              note:
                own.held >= limit
                  ? `held ${formatRate(own.held)} msgs/s, ≥ 90 % of the lowest the driver offered the reference (${formatRate(driverLow!)})`
                  : failedAtDriver
                    ? `held ${formatRate(own.held)} msgs/s and failed at ${formatRate(own.failed!)}, where the driver itself gave out during the search (${formatRate(driverLow!)} at the lowest on the reference): not told apart from the driver's`
                    : `held ${formatRate(own.held)} msgs/s and nothing failed below the driver's limit (${formatRate(driverLow!)} on the reference), undecided at ${formatRate(own.undecided![0])}–${formatRate(own.undecided![1])}`,
            }
          : own;
      const aboveHeld = steps
        .filter((s) => s.verdict !== 'holds' && (result.held === undefined || s.rate > result.held))
        .sort((a, b) => a.rate - b.rate)[0];
      const ranOut =
        o.references.includes(model) && first.params.work === 'none'
          ? 'the driver'
          : ranOutAt(aboveHeld, cpuCount(mine), o.singleThreaded.includes(model));
      return {
        model,
        result,
        steps,
        status: o.references.includes(model)
          ? 'ceiling'
          : result.driverBound
            ? 'driver-bound'
            : result.held === undefined
              ? 'none'
              : 'undecided',
        ...(ranOut ? { ranOut } : {}),
      };
    });
    for (const c of cells) c.result = withDrift(c.result, drift);
    const ranked = cells.filter((c) => c.status === 'undecided');
    const leader = ranked.reduce<CapacityCell | undefined>(
      (b, c) => (!b || c.result.held! > b.result.held! ? c : b),
      undefined,
    );
    for (const c of ranked) {
      if (c === leader) {
        c.status = 'winner';
        continue;
      }
      const upper = (r: CapacityResult): number => r.failed ?? Infinity;
      const L = leader!.result;
      const low = c.result.held! / upper(L);
      const high = upper(c.result) / L.held!;
      c.relative = [low, high];
      if (low >= 1 - o.margin && high <= 1 + o.margin) c.status = 'tie';
      else if (high < 1 - o.margin) c.status = 'beaten';
      else if (high < 1) c.status = 'behind';
      else c.status = 'undecided';
    }
    const decided = leader !== undefined && !cells.some((c) => c.status === 'undecided');
    return {
      protocol: first.params.protocol,
      workload: first.workload,
      objective,
      margin: o.margin,
      ...(drift ? { drift } : {}),
      cells,
      winners: decided ? cells.filter((c) => c.status === 'winner' || c.status === 'tie').map((c) => c.model) : [],
      decided,
    };
  });
}

/**
 * A workload open loop already: at its own rate, whether each model holds the objective (its one step's verdict).
 * Where the reference (no handler work) fails the rate too, the driver could not offer it: a model failing there is
 * driver-bound, not failed. Pure.
 */
function fixedRateRow(
  rs: readonly RunRecord[],
  o: { margin: number; references: readonly string[]; singleThreaded: readonly string[] },
): CapacityRow {
  const first = rs[0]!;
  const { objective, rate } = first.slo!;
  const isCeiling = (model: string): boolean => o.references.includes(model) && first.params.work === 'none';
  const judged = [...new Set(rs.map((r) => r.model))].map((model) => {
    const mine = rs.filter((r) => r.model === model);
    const steps = stepsOf(mine, objective);
    return { model, mine, steps, result: capacityOf(steps, rate, undefined, true) };
  });
  const driverFailed = judged.some((c) => isCeiling(c.model) && c.result.failed !== undefined);
  const cells: CapacityCell[] = judged.map(({ model, mine, steps, result }) => {
    const status: CapacityStatus = isCeiling(model)
      ? 'ceiling'
      : result.held !== undefined
        ? 'holds'
        : result.failed === undefined
          ? 'undecided'
          : driverFailed
            ? 'driver-bound'
            : 'fails';
    const ranOut =
      isCeiling(model) && result.failed !== undefined
        ? 'the driver'
        : status === 'fails'
          ? ranOutAt(steps[0], cpuCount(mine), o.singleThreaded.includes(model))
          : undefined;
    return {
      model,
      result: { ...result, driverBound: status === 'driver-bound' },
      steps,
      status,
      ...(ranOut ? { ranOut } : {}),
    };
  });
  return {
    protocol: first.params.protocol,
    workload: first.workload,
    objective,
    margin: o.margin,
    rate,
    cells,
    winners: cells.filter((c) => c.status === 'holds').map((c) => c.model),
    decided: !cells.some((c) => c.status === 'undecided'),
  };
}

/** How many CPUs the server was given (its taskset list), from a record of the cell. */
function cpuCount(records: readonly RunRecord[]): number {
  const list = records.find((r): r is OkRecord => r.status === 'ok')?.server.cpus;
  if (!list) return 1;
  return list.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b !== undefined && a !== undefined ? b - a + 1 : 1);
  }, 0);
}
