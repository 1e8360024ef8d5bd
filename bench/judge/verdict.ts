/**
 * "Which model wins where", decided with a margin. Each workload family has the measure that decides its row
 * (closed loop and connect-per-request: throughput, higher is better; open loop: p99 latency at the held rate,
 * lower is better, and a model that missed the rate or timed out ranks below every model that held it). Against the
 * row's leader (the best point estimate among the models that can be ranked), every other model is:
 *   - tied, when the 90 % interval of their relative difference lies within ±margin (an equivalence test: two
 *     one-sided tests at 5 %, TOST);
 *   - beaten, when the interval lies entirely beyond the margin on the worse side;
 *   - behind, when it is provably slower than the leader but its interval straddles the margin: slower by about the
 *     margin (no number of runs would place it on either side of the margin itself). "Provably slower" is judged
 *     over the row's k − 1 comparisons at 5 % one-sided family-wise, as in Hsu's multiple comparisons with the best:
 *     the leader is the best of k noisy means, so against each of several equal models it looks better than it is
 *     (a full-profile row of five equal loop models named a winner "at ±0.2 %" without it). Holm's step-down
 *     (holmStepDown) spends the family's 5 % where it is needed: the model most plainly slower is tested at 5 %/(k − 1),
 *     the next at 5 %/(k − 2), …, so models already far behind do not make the close ones pay Bonferroni's full price;
 *   - undecided otherwise (the interval reaches past zero and past a margin), with the runs it would take at the
 *     spread seen so far.
 * A row is decided when no model is undecided: it names its winner, or its tie group ("equivalent within ±m %"),
 * and the models behind it.
 * Only runs that measured the server can be ranked: a cell whose client saturated is shown as such; cells that
 * errored, were skipped or interrupted, or echoed wrong bytes are never ranked. The native ceiling is a reference.
 */
import type { CellSummary } from './aggregate.js';
import { comparePaired, compareSamples, mean, sampleStandardDeviation } from '../data/stats.js';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';

export type VerdictStatus =
  | 'winner'
  | 'tie'
  | 'beaten'
  | 'behind'
  | 'undecided'
  | 'missed-rate'
  | 'saturated'
  | 'errored'
  | 'skipped'
  | 'interrupted'
  | 'invalid'
  | 'ceiling'
  | 'unmeasured';

/** The measure that decides a row, by workload family. */
export interface Decider {
  metric: 'throughput' | 'p99';
  better: 'higher' | 'lower';
  /** "throughput", "p99 latency at the held rate". */
  label: string;
}

export function deciderFor(c: Pick<CellSummary, 'params'>): Decider {
  if (c.params.rate !== undefined) return { metric: 'p99', better: 'lower', label: 'p99 latency at the held rate' };
  return {
    metric: 'throughput',
    better: 'higher',
    label: c.params.pattern === 'connect-per-request' ? 'connections served per second' : 'throughput',
  };
}

export interface VerdictCell {
  model: string;
  status: VerdictStatus;
  /** Its deciding measure relative to the leader's, as performance: 1 = the leader; 0.5 = half as good (half the
   * throughput, or twice the p99). */
  relative?: number;
  /** Against the leader: the 90 % interval of the relative difference (positive = better than the leader). */
  interval?: [number, number];
  /** The better end of the interval widened for the row's comparisons with its leader (see the header): below
   * zero, the model is provably slower than the leader. */
  slowerBelow?: number;
  /** Undecided: about how many more runs of each of the two would decide it, at the spread seen so far. */
  runsNeeded?: number;
  /** Judged as pairs with the leader: the blocks they took turns in together (absent: unpaired, Welch). */
  paired?: number;
  /** Some messages timed out (the model kept clients waiting). */
  timeouts: boolean;
}

export interface VerdictRow {
  workload: string;
  protocol: string;
  decider: Decider;
  /** The equivalence margin the row was judged with (0.10 = ±10 %). */
  margin: number;
  cells: VerdictCell[];
  /** The winner and the models tied with it. Empty when nothing could be ranked, and while the row is undecided. */
  winners: string[];
  /** Every model was decided against the leader. */
  decided: boolean;
  /** A saturated cell went at least as fast as the best ranked one: the client, not the servers, set the limit. */
  clientBound: boolean;
  /** Why no winner can be named although cells were measured. */
  undecided?: string;
  /** A decided tie: the widest end of its 90 % intervals, the margin the data actually supports (≤ margin). */
  achieved?: number;
  /** In an undecided row: the leader and the models tied with it so far. */
  leading?: string[];
  /** Decided at a margin narrower than asked, because an interval straddled the margin itself (see pendingSeparated). */
  decidedAt?: number;
}

export interface VerdictOptions {
  /** Models that are references (the native ceiling), not contenders. */
  references: readonly string[];
  /** Equivalence margin, a fraction (0.10 = ±10 %). */
  margin: number;
  /** For runsNeeded only: the suite's typical run-to-run spread of the deciding measure (relative SD, by decider
   * metric; `paired`: the SD of the log ratio within a block), which a pair's own spread from 2–3 runs is shrunk
   * towards (see runsToDecide). */
  spreadPrior?: Partial<Record<Decider['metric'], number>> & { paired?: Partial<Record<Decider['metric'], number>> };
}

/** Degrees of freedom the suite's typical spread weighs as, beside a cell's own (n − 1). */
const PRIOR_DF = 4;

/** An open-loop cell held its rate: at least 97 % of the asked rate, and nothing timed out. */
export function heldRate(c: CellSummary): boolean {
  const rate = c.params.rate;
  return rate === undefined || (c.throughput.median >= 0.97 * rate && c.errors.timeouts === 0);
}

function rankable(c: CellSummary): boolean {
  return c.status === 'ok' && c.okRuns > 0 && !c.clientSaturated && c.errors.mismatches === 0;
}

/** Per-run values of the deciding measure, and their point estimate (the mean). */
export function valuesOf(c: CellSummary, d: Decider): number[] {
  return d.metric === 'throughput' ? c.samples : (c.values.p99 ?? []);
}

/** Two models' values of the deciding measure from the blocks both took turns in, as pairs (same order). */
export interface Pairs {
  leader: number[];
  x: number[];
}

/** The fewest blocks shared with the leader for a comparison to be judged as pairs. */
export const MIN_PAIRS = 2;

/**
 * A model's values and the leader's paired by the block they took turns in (bench/run/run-block.ts): undefined when
 * they shared fewer than MIN_PAIRS blocks (then they are compared unpaired, Welch). Runs of one model alone (a run
 * made up for one set aside) are left out of a paired comparison. Pure.
 */
export function pairsOf(leader: CellSummary, x: CellSummary, d: Decider): Pairs | undefined {
  const turns = (c: CellSummary): readonly (number | undefined)[] => c.turns?.[d.metric] ?? [];
  const leaderValues = valuesOf(leader, d);
  const byBlock = new Map<number, number>();
  for (const [i, block] of turns(leader).entries())
    if (block !== undefined && leaderValues[i] !== undefined) byBlock.set(block, leaderValues[i]!);
  const xValues = valuesOf(x, d);
  const out: Pairs = { leader: [], x: [] };
  for (const [i, block] of turns(x).entries()) {
    const l = block !== undefined ? byBlock.get(block) : undefined;
    if (l === undefined || xValues[i] === undefined) continue;
    out.leader.push(l);
    out.x.push(xValues[i]!);
  }
  return out.x.length >= MIN_PAIRS ? out : undefined;
}

/** The test of X against the leader: paired on the ratio within each block when there are pairs, else Welch's. */
function testOf(leader: readonly number[], x: readonly number[], alpha: number, pairs?: Pairs, prior?: number) {
  return pairs ? pairedTest(pairs, alpha, prior) : compareSamples(leader, x, alpha);
}

/**
 * The paired test on the log ratio within each block, its spread pooled with the suite's typical paired spread
 * (PRIOR_DF degrees of freedom beside the pair's own n − 1). Why: two blocks whose ratios happen to agree have a
 * spread near zero and an interval far narrower than the comparison's: in five default suites here, event-loop's
 * echo against worker-threads read [−18 %, −10 %] from two blocks (0.863, 0.851) in one session and [−4 %, +4 %],
 * [−11 %, −3 %], [−6 %, −2 %] in the others. Without a prior, Student's paired t.
 */
export function pairedTest(
  pairs: Pairs,
  alpha: number,
  prior?: number,
): { change: number; changeLow: number; changeHigh: number; pValue: number } {
  if (prior === undefined || !Number.isFinite(prior)) return comparePaired(pairs.leader, pairs.x, alpha);
  const logs = pairs.x.map((v, i) => Math.log(v / pairs.leader[i]!)).filter(Number.isFinite);
  const n = logs.length;
  const m = mean(logs);
  const ownDf = n - 1;
  const own = n >= 2 ? sampleStandardDeviation(logs) : 0;
  const df = ownDf + PRIOR_DF;
  const s = Math.sqrt((ownDf * own ** 2 + PRIOR_DF * prior ** 2) / df);
  const se = s / Math.sqrt(n);
  const geometric = (x: number): number => Math.exp(x) - 1;
  if (!(se > 0))
    return { change: geometric(m), changeLow: geometric(m), changeHigh: geometric(m), pValue: m === 0 ? 1 : 0 };
  const half = tQuantile(1 - alpha / 2, df) * se;
  return {
    change: geometric(m),
    changeLow: geometric(m - half),
    changeHigh: geometric(m + half),
    pValue: 2 * (1 - tCdf(Math.abs(m / se), df)),
  };
}

/** Performance relative to the leader: > 1 is better. */
function relativeTo(x: number, leader: number, d: Decider): number {
  return d.better === 'higher' ? x / leader : leader / x;
}

/**
 * X against the leader L: the 90 % interval of (X − L) / L, signed so that positive is better, and the decision.
 * Pure; exported for the tests and the orchestrator's allocation.
 */
export function judgePair(
  leader: readonly number[],
  x: readonly number[],
  d: Decider,
  margin: number,
  comparisons = 1,
  spreadPrior?: number,
  pairs?: Pairs,
): {
  status: 'tie' | 'beaten' | 'behind' | 'undecided';
  interval?: [number, number];
  slowerBelow?: number;
  runsNeeded?: number;
} {
  if (!pairs && (leader.length < 2 || x.length < 2))
    return { status: 'undecided', runsNeeded: Math.max(0, 2 - Math.min(leader.length, x.length)) };
  const sign = d.better === 'higher' ? 1 : -1;
  const signed = (alpha: number): [number, number, number] => {
    const test = testOf(leader, x, alpha, pairs, spreadPrior);
    return sign > 0
      ? [test.changeLow, test.changeHigh, test.change]
      : [-test.changeHigh, -test.changeLow, -test.change];
  };
  const [lo, hi, g] = signed(0.1);
  const slowerBelow = comparisons > 1 ? signed(0.1 / comparisons)[1] : hi;
  const interval: [number, number] = [lo, hi];
  if (lo > -margin && hi < margin) return { status: 'tie', interval, slowerBelow };
  if (hi < -margin) return { status: 'beaten', interval, slowerBelow };
  if (slowerBelow < 0) return { status: 'behind', interval, slowerBelow };
  return {
    status: 'undecided',
    interval,
    slowerBelow,
    runsNeeded: pairs
      ? pairsToDecide(pairs, g, margin, comparisons, spreadPrior)
      : runsToDecide(leader, x, g, margin, comparisons, spreadPrior),
  };
}

/**
 * Blocks that would decide X against the leader when they are compared as pairs: as runsToDecide, on the spread of
 * the per-block log ratio (pooled with the suite's typical paired spread as the prior), n pairs giving an interval
 * of t·s/√n.
 */
export function pairsToDecide(
  pairs: Pairs,
  g: number,
  margin: number,
  comparisons: number,
  spreadPrior?: number,
): number | undefined {
  const logs = pairs.x.map((v, i) => Math.log(v / pairs.leader[i]!)).filter(Number.isFinite);
  const have = logs.length;
  const own = sampleStandardDeviation(logs);
  return blocksUntil(
    own,
    have - 1,
    have,
    g,
    margin,
    comparisons,
    spreadPrior,
    (n) => Math.sqrt(1 / n),
    (n) => n - 1 + (spreadPrior !== undefined && Number.isFinite(spreadPrior) ? PRIOR_DF : 0),
  );
}

/**
 * The smallest number of further runs (or blocks) after `have` at which the interval's half-width falls below the gap
 * that decides: to the margin (95 % one-sided), or, for a model behind, to zero at the family-wise level.
 */
function blocksUntil(
  own: number,
  ownDf: number,
  have: number,
  g: number,
  margin: number,
  comparisons: number,
  spreadPrior: number | undefined,
  scale: (n: number) => number,
  df: (n: number) => number,
): number | undefined {
  const s =
    spreadPrior !== undefined && Number.isFinite(spreadPrior)
      ? Math.sqrt(
          (Math.max(0, ownDf) * (Number.isFinite(own) ? own : 0) ** 2 + PRIOR_DF * spreadPrior ** 2) /
            (Math.max(0, ownDf) + PRIOR_DF),
        )
      : own;
  if (!Number.isFinite(s)) return undefined;
  const until = (gap: number, level: number): number | undefined => {
    if (gap < 1e-6) return undefined;
    for (let n = have + 1; n <= 1000; n++) if (tQuantile(level, df(n)) * s * scale(n) < gap) return n - have;
    return undefined;
  };
  const options = [
    until(Math.abs(Math.abs(g) - margin), 0.95),
    g < 0 ? until(-g, 1 - 0.05 / comparisons) : undefined,
  ].filter((n): n is number => n !== undefined);
  return options.length > 0 ? Math.min(...options) : undefined;
}

/**
 * Runs per side that would decide X at today's estimate and spread: its interval falling on one side of the margin,
 * or, for a model behind the leader, its widened interval falling below zero (behind), whichever comes first.
 * With a prior, the pair's spread is pooled with the suite's typical one (PRIOR_DF degrees of freedom beside the
 * pair's own): a spread from two runs is itself off by a factor of 2–3 either way, and a row whose two runs
 * happened to land far apart was priced out of a budget it needed (docs/method.md).
 */
export function runsToDecide(
  leader: readonly number[],
  x: readonly number[],
  g: number,
  margin: number,
  comparisons: number,
  spreadPrior?: number,
): number | undefined {
  const base = Math.abs(mean(leader));
  const own = Math.sqrt((sampleStandardDeviation(leader) ** 2 + sampleStandardDeviation(x) ** 2) / 2) / base;
  const have = Math.min(leader.length, x.length);
  return blocksUntil(
    own,
    2 * have - 2,
    have,
    g,
    margin,
    comparisons,
    spreadPrior,
    (n) => Math.sqrt(2 / n),
    (n) => 2 * n - 2,
  );
}

export function verdictRow(cells: readonly CellSummary[], options: VerdictOptions): VerdictRow {
  const first = cells[0]!;
  const decider = deciderFor(first);
  const margin = options.margin;
  const isReference = (c: CellSummary): boolean => options.references.includes(c.model);
  const contenders = cells.filter((c) => rankable(c) && !isReference(c));
  const held = contenders.filter(heldRate);
  const point = (c: CellSummary): number => mean(valuesOf(c, decider));
  const better = (a: CellSummary, b: CellSummary): boolean =>
    decider.better === 'higher' ? point(a) > point(b) : point(a) < point(b);
  const leader = held.reduce<CellSummary | undefined>((b, c) => (!b || better(c, b) ? c : b), undefined);
  const measured = cells.filter((c) => c.status === 'ok' && c.okRuns > 0);
  const fastest = measured.reduce<CellSummary | undefined>(
    (b, c) => (!b || c.throughput.median > b.throughput.median ? c : b),
    undefined,
  );
  // A saturated row at least as fast as the best ranked one: the client, not the servers, set the limit.
  const clientBound = cells.some(
    (c) =>
      !isReference(c) &&
      c.clientSaturated &&
      c.status === 'ok' &&
      (!leader || c.throughput.median >= leader.throughput.median * 0.95),
  );
  const out: VerdictCell[] = cells.map((c) => {
    const common = { model: c.model, timeouts: c.errors.timeouts > 0 };
    if (c.status === 'skipped') return { ...common, status: 'skipped' };
    if (c.status === 'interrupted') return { ...common, status: 'interrupted' };
    if (c.status !== 'ok') return { ...common, status: 'errored' };
    if (c.okRuns === 0) return { ...common, status: 'unmeasured' };
    const norm = clientBound || !leader ? fastest : leader;
    const relative =
      norm && c !== norm
        ? clientBound || !leader
          ? c.throughput.median / norm.throughput.median
          : relativeTo(point(c), point(norm), decider)
        : norm
          ? 1
          : undefined;
    const withRel = { ...common, ...(relative !== undefined && Number.isFinite(relative) ? { relative } : {}) };
    if (c.errors.mismatches > 0) return { ...withRel, status: 'invalid' };
    if (c.clientSaturated) return { ...withRel, status: 'saturated' };
    if (isReference(c)) return { ...withRel, status: 'ceiling' };
    if (!heldRate(c)) return { ...withRel, status: 'missed-rate' };
    if (c === leader) return { ...withRel, status: 'winner' };
    const pairs = pairsOf(leader!, c, decider);
    const j = judgePair(
      valuesOf(leader!, decider),
      valuesOf(c, decider),
      decider,
      margin,
      Math.max(1, held.length - 1),
      pairs ? options.spreadPrior?.paired?.[decider.metric] : options.spreadPrior?.[decider.metric],
      pairs,
    );
    return {
      ...withRel,
      status: j.status,
      ...(pairs ? { paired: pairs.x.length } : {}),
      ...(j.interval ? { interval: j.interval } : {}),
      ...(j.slowerBelow !== undefined ? { slowerBelow: j.slowerBelow } : {}),
      ...(j.runsNeeded !== undefined ? { runsNeeded: j.runsNeeded } : {}),
    };
  });
  holmStepDown(out, cells, leader, decider, options.spreadPrior?.paired?.[decider.metric]);
  const separatedAt = pendingSeparated(out, margin);
  if (separatedAt !== undefined) {
    for (const c of out) {
      if (c.status !== 'undecided' && c.status !== 'tie' && c.status !== 'behind') continue;
      c.status = tieBound(c.interval!) <= separatedAt ? 'tie' : 'beaten';
      delete c.runsNeeded;
    }
  }
  const pending = out.filter((c) => c.status === 'undecided');
  const unmeasured = cells
    .filter(
      (c) =>
        !isReference(c) && (c.status === 'interrupted' || (c.status === 'ok' && c.okRuns === 0 && c.countedRuns === 0)),
    )
    .map((c) => c.model);
  let undecided: string | undefined;
  if (!clientBound && !leader && contenders.length > 0) undecided = 'no model held the rate';
  else if (!clientBound && pending.length > 0) {
    undecided = `undecided at ±${pct(margin)}: ${pending.map((c) => `${c.model} (${c.interval ? `${signed(c.interval[0])} … ${signed(c.interval[1])}` : 'too few runs'}${c.runsNeeded !== undefined ? `; ~${c.runsNeeded} more runs each` : c.interval ? '; at the margin' : ''})`).join(', ')} against ${leader!.model}`;
  } else if (!clientBound && unmeasured.length > 0)
    undecided = `undecided: ${unmeasured.join(', ')} not measured (interrupted)`;
  const group = out.filter((c) => c.status === 'winner' || c.status === 'tie').map((c) => c.model);
  if (clientBound) for (const c of out) if (c.status === 'winner' || c.status === 'tie') c.status = 'beaten';
  const decided = !clientBound && leader !== undefined && undecided === undefined;
  const tieBounds = out.filter((c) => c.status === 'tie' && c.interval).flatMap((c) => c.interval!.map(Math.abs));
  return {
    workload: first.workload,
    protocol: first.params.protocol,
    decider,
    margin,
    cells: out,
    winners: decided ? group : [],
    decided,
    clientBound,
    ...(undecided ? { undecided } : {}),
    ...(undecided && group.length > 0 ? { leading: group } : {}),
    ...(decided && tieBounds.length > 0 ? { achieved: Math.max(...tieBounds) } : {}),
    ...(decided && separatedAt !== undefined ? { decidedAt: separatedAt } : {}),
  };
}

/**
 * Holm's step-down over "slower than the leader" (one-sided, 5 % family-wise over the row's m = k − 1 comparisons):
 * sorted by p-value, the i-th (from 0) is provably slower when its p ≤ 5 %/(m − i) and every one before it was; the
 * first that is not stops the walk. An undecided model found provably slower is `behind`. Holm rejects whatever
 * Bonferroni (every test at 5 %/m) does and more, with the same family-wise guarantee (Holm 1979). Re-judged, a full
 * profile's 1,178 runs here moved payload/4KiB's fork-pool (−35 … −8 %) from undecided to behind: in a full-profile
 * row the models far behind take the strictest levels. Mutates `out`; slowerBelow stays the Bonferroni bound that
 * pendingSeparated rests on.
 */
function holmStepDown(
  out: VerdictCell[],
  cells: readonly CellSummary[],
  leader: CellSummary | undefined,
  d: Decider,
  pairedPrior?: number,
): void {
  if (!leader) return;
  const judged = out
    .map((c, i) => ({ c, summary: cells[i]! }))
    .filter(
      ({ c }) => c.status === 'tie' || c.status === 'beaten' || c.status === 'behind' || c.status === 'undecided',
    );
  const m = judged.length;
  if (m < 2) return;
  const ranked = judged
    .map((j) => ({
      ...j,
      p: slowerPValue(valuesOf(leader, d), valuesOf(j.summary, d), d, pairsOf(leader, j.summary, d), pairedPrior),
    }))
    .sort((a, b) => a.p - b.p);
  for (const [i, j] of ranked.entries()) {
    if (!(j.p <= 0.05 / (m - i))) return;
    if (j.c.status === 'undecided') {
      j.c.status = 'behind';
      delete j.c.runsNeeded;
    }
  }
}

/** One-sided p-value of "x is worse than the leader" (Welch's t, or the paired t on the block ratios). */
function slowerPValue(
  leader: readonly number[],
  x: readonly number[],
  d: Decider,
  pairs?: Pairs,
  pairedPrior?: number,
): number {
  const t = testOf(leader, x, 0.05, pairs, pairedPrior);
  if (!Number.isFinite(t.pValue)) return 1;
  const worse = d.better === 'higher' ? t.change < 0 : t.change > 0;
  return worse ? t.pValue / 2 : 1 - t.pValue / 2;
}

/** The smallest margin that would make an interval a tie: its farther end. */
function tieBound(interval: readonly [number, number]): number {
  return Math.max(Math.abs(interval[0]), Math.abs(interval[1]));
}

/**
 * A row whose models straddle ±margin itself (a model ~m % behind is neither provably within m nor provably beyond
 * it, however many runs it gets: undecided, or behind when it is provably slower) may still separate at a narrower
 * margin: the largest X < margin at which every judged model's interval lies inside ±X (tied) or wholly below −X
 * (beaten). Then the row is decided at ±X — "within ±X %, and every other model beaten by more than X %" — which is
 * what the same intervals prove. Undefined when no such X exists or a model has too few runs.
 */
function pendingSeparated(cells: readonly VerdictCell[], margin: number): number | undefined {
  const judged = cells.filter(
    (c) => c.status === 'tie' || c.status === 'beaten' || c.status === 'behind' || c.status === 'undecided',
  );
  if (!judged.some((c) => c.status === 'undecided' || c.status === 'behind') || judged.some((c) => !c.interval))
    return undefined;
  // "Beaten by more than X" below the margin rests on the widened interval, as "behind" does (see the header).
  const below = (c: VerdictCell): number => c.slowerBelow ?? c.interval![1];
  const valid = (x: number): boolean => judged.every((c) => tieBound(c.interval!) <= x || below(c) < -x);
  // Candidates: each tie bound, and just under each beaten bound; the largest valid one below the margin.
  const candidates = judged
    .flatMap((c) => [tieBound(c.interval!), -below(c) - 1e-9])
    .filter((x) => x > 0 && x < margin)
    .sort((a, b) => b - a);
  return candidates.find(valid);
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${(Math.abs(x) * 100).toFixed(1)}%`;

/** One row per workload, in the order the cells first appear. */
export function verdict(cells: readonly CellSummary[], options: VerdictOptions): VerdictRow[] {
  const rows = new Map<string, CellSummary[]>();
  for (const c of cells) {
    const key = `${c.params.protocol}/${c.workload}`;
    rows.set(key, [...(rows.get(key) ?? []), c]);
  }
  return [...rows.values()].map((group) => verdictRow(group, options));
}
