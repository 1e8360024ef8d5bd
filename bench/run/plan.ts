/**
 * Where the adaptive runs go (the sampling plan's second half; docs/method.md has the measurements behind it).
 * Noise on this kind of machine is mostly the machine's speed changing from one second to the next (window-to-window
 * CV 10–18 %, fresh processes 3–15 % on top), which no choice of window length removes: only more runs narrow an
 * interval. So runs go where they can change an answer: to the models whose comparison with the row's leader is
 * still undecided at the margin, fewest runs to a decision first; a comparison already decided, or a model far
 * behind, gets none.
 */
import { summarizeRecords, timedRuns } from '../judge/aggregate.js';
import { verdictRow } from '../judge/verdict.js';
import { suiteSpread } from '../judge/spread.js';
import { compareSuites, METRICS } from '../judge/compare.js';
import { MODEL_COUNT_RULES } from '../judge/gate.js';
import type { Planner, WorkloadGroup } from './orchestrator.js';
import type { RunRecord } from '../data/record.js';
import { DEFAULTS } from '../../lib/defaults.js';

/** A comparison with no estimate of the runs it needs (no spread yet, or a gap of about zero). */
const NO_ESTIMATE = 1000;

/**
 * For the verdict: the leader and every model undecided against it, fewest runs to a decision first. Under a time
 * budget, only the rows whose estimated runs to a decision fit what is left, cheapest row first (at least the
 * cheapest one): a row that cannot be decided in the time left takes runs from rows that can (the full profile's
 * open-loop row took 157 of 1,178 runs, 13 %, and was still ~30 runs a model short when the budget ran out).
 */
export function verdictPlanner(o: { references: readonly string[]; margin: number }): Planner {
  return (groups, runsOf, runsLeft) => {
    const summarized = groups.map((g) => {
      const subjects = g.subjects.filter((s) => s.side === undefined || s.side === 'head');
      return { g, subjects, cells: summarizeRecords(subjects.flatMap((s) => runsOf(g, s))) };
    });
    const spreadPrior = suiteSpread(summarized.flatMap((x) => x.cells));
    const rows = summarized.flatMap(({ g, subjects, cells }) => {
      if (cells.length === 0) return [];
      const row = verdictRow(cells, { ...o, spreadPrior });
      if (row.decided || row.clientBound) return [];
      const leader = row.cells.find((c) => c.status === 'winner');
      const pending = row.cells.filter((c) => c.status === 'undecided');
      if (pending.length === 0) return [];
      const needs = pending.map((c) => c.runsNeeded ?? NO_ESTIMATE);
      // Each pending model's runs, and the leader's beside the longest of them.
      const cost = needs.reduce((a, b) => a + b, 0) + Math.max(...needs);
      const wants = pending.flatMap((c) => {
        const priority = c.runsNeeded ?? NO_ESTIMATE;
        const mine = subjects.filter((s) => s.name === c.model || s.name === leader?.model);
        return mine.map((subject) => ({ g, subject, priority }));
      });
      return [{ cost, wants }];
    });
    if (runsLeft === undefined) return rows.flatMap((r) => r.wants);
    return affordable(rows, runsLeft).flatMap((r) => r.wants);
  };
}

/** The cheapest rows whose costs together fit `runsLeft`, and at least the cheapest one. Pure. */
export function affordable<T extends { cost: number }>(rows: readonly T[], runsLeft: number): T[] {
  const sorted = [...rows].sort((a, b) => a.cost - b.cost);
  const chosen: T[] = [];
  let spent = 0;
  for (const r of sorted) {
    if (chosen.length > 0 && spent + r.cost > runsLeft) break;
    chosen.push(r);
    spent += r.cost;
  }
  return chosen;
}

/**
 * A timing regression is believed after this many runs a side (or --max-runs, if fewer), not at the first round
 * that shows it: 1 of 20 A/A sessions (identical code) named cluster-rr's echo a +46.4 % [+17.6 %, +75.1 %] server
 * CPU regression from 4 and 3 runs, and the planner, counting it decided, gave it no more.
 */
export const CONFIRM_TIMING_RUNS = 10;

/**
 * For the gate (--against, or --baseline with a saved suite as the base): every cell whose change the gate could not
 * decide yet, fewest runs first, and every
 * timing regression not yet confirmed by CONFIRM_TIMING_RUNS a side. A timing row too noisy to gate ("unstable")
 * gets runs too: in one session more runs of both sides narrow it, where a saved baseline could not be measured
 * again (measured: event-loop's server CPU µs/msg, ±14.6 % after 5 runs a side, was left there with 5 of its 10
 * runs unspent while a +32 % regression passed). Throughput is compared absolute within a session (see
 * compareSuites), so no reference needs runs beside them.
 */
export function comparisonPlanner(o: {
  thresholdPercent: number;
  baseline?: readonly RunRecord[];
  countedLater?: boolean;
}): Planner {
  return (groups, runsOf) =>
    groups.flatMap((g) => {
      const side = (name: 'base' | 'head'): RunRecord[] =>
        g.subjects
          .filter((s) => s.side === name)
          .flatMap((s) => runsOf(g, s))
          .map(({ side: _s, ...r }) => r as RunRecord);
      // --baseline: the saved suite's runs of this workload are the base, this suite's runs the head.
      const [base, head] = o.baseline
        ? [
            o.baseline.filter((r) => r.workload === g.workload.name && r.params.protocol === g.workload.protocol),
            g.subjects.flatMap((s) => runsOf(g, s)),
          ]
        : [side('base'), side('head')];
      const report = compareSuites(base, head, {
        threshold: o.thresholdPercent / 100,
        alpha: DEFAULTS.alpha,
        ...MODEL_COUNT_RULES,
      });
      // A row that only informs (timing in a cell its counts decide) gets no runs: nothing waits on it.
      const noisyTiming = report.unstable.filter((row) => METRICS[row.metric].kind === 'timing' && !row.informational);
      const unconfirmed = report.regressions.filter(
        (row) => METRICS[row.metric].kind === 'timing' && Math.min(row.nBaseline, row.nCurrent) < CONFIRM_TIMING_RUNS,
      );
      // Counts are taken after the timed runs (--counts): a cell the base counted will be decided by its counts, and
      // its timing only informs, so it waits on no timed run.
      const decidedByCounts = new Set(
        o.countedLater ? base.filter((r) => r.status === 'ok' && r.counts !== undefined).map((r) => r.model) : [],
      );
      return [...report.inconclusive, ...noisyTiming, ...unconfirmed]
        .filter((row) => !(decidedByCounts.has(row.model) && METRICS[row.metric].kind === 'timing'))
        .flatMap((row) => {
          const n = Math.min(row.nBaseline, row.nCurrent);
          return g.subjects
            .filter((s) => s.name === row.model && (o.baseline !== undefined || s.side !== undefined))
            .map((subject) => ({ g, subject, priority: n }));
        });
    });
}

/**
 * For a suite saved as a baseline (--save-baseline): every cell gets `runs` timed runs, the gate's future other
 * side. A verdict decided after 2 runs a cell left a saved baseline that no later gate could judge ("needs ≥ 3 runs
 * on each side (has 2 and 30)"), and one of 3 runs a cell has an interval of ±10–20 % here, too wide for a 10 %
 * threshold: so CONFIRM_TIMING_RUNS, what a timing regression needs before it is believed.
 */
export function baselinePlanner(runs = CONFIRM_TIMING_RUNS): Planner {
  return (groups, runsOf) =>
    groups.flatMap((g) =>
      g.subjects.flatMap((subject) => {
        const have = timedRuns(runsOf(g, subject)).length;
        return have < runs ? [{ g, subject, priority: have }] : [];
      }),
    );
}

/** Every planner's wants: the runs any consumer of the suite (the verdict, a gate) still needs. */
export function allPlanners(...planners: readonly Planner[]): Planner {
  return (groups, runsOf, runsLeft) => planners.flatMap((p) => p(groups, runsOf, runsLeft));
}

export type { WorkloadGroup };
