/**
 * --slo: after the timed runs, a capacity search for every model of every closed-loop workload of persistent
 * connections, each starting from the model's own closed-loop throughput, a workload's models in turns
 * (bench/run/capacity-search.ts); a workload open loop already is checked at its own rate, in turns too. The
 * reference is searched again after all of them, from the rate it held: how far the machine drifted over the search
 * (bench/judge/capacity.ts, Drift).
 */
import { searchCapacities, type SearchMember } from '../run/capacity-search.js';
import { runCell } from '../run/run-cell.js';
import type { CapacityResult } from '../judge/capacity.js';
import type { WorkloadGroup } from '../run/orchestrator.js';
import { timedRuns } from '../judge/aggregate.js';
import { mean } from '../data/stats.js';
import type { Objective } from '../data/slo.js';
import type { RunRecord } from '../data/record.js';
import { formatRate } from '../../lib/format/units.js';

export interface CapacityHooks {
  onRecord(record: RunRecord): void;
  /** One line of progress. */
  status(line: string): void;
  /** Said once, kept on screen. */
  say(line: string): void;
}

/** Why a workload gets no capacity search nor check at its rate, or undefined when it does. Pure. */
export function noSearchReason(w: WorkloadGroup['workload']): string | undefined {
  if (w.pattern !== 'persistent') return `its connections are not persistent (${w.pattern})`;
  return undefined;
}

export async function runCapacityPhase(
  groups: readonly WorkloadGroup[],
  timed: readonly RunRecord[],
  objective: Objective,
  signal: AbortSignal,
  hooks: CapacityHooks,
  o: {
    /** False for a profile's own objective: only its open-loop rows are checked, at their rates (a search of every
     * workload is --slo's, and would take the full profile hours). */
    searches?: boolean;
    /** The run of one step (tests give a simulated server). */
    run?: typeof runCell;
  } = {},
): Promise<void> {
  const { searches = true, run = runCell } = o;
  for (const g of groups) {
    if (g.workload.rate === undefined && !searches) continue;
    const why = noSearchReason(g.workload);
    if (why) {
      hooks.say(`capacity at ${objective.text}: ${g.workload.name} left out: ${why}`);
      continue;
    }
    // The reference first (the native server): without handler work its per-frame cost is negligible, so where the
    // driver gives out on it bounds every other search. With handler work it is one more single-threaded model, and
    // takes its turns with the others.
    const startOf = (name: string): number | undefined => {
      const runs = timedRuns(
        timed.filter(
          (r) => r.workload === g.workload.name && r.params.protocol === g.workload.protocol && r.model === name,
        ),
      );
      return runs.length > 0 ? mean(runs.map((r) => r.result.msgsPerSec)) : undefined;
    };
    const fixedRate = g.workload.rate;
    const label = fixedRate !== undefined ? `${objective.text} at its rate` : 'capacity';
    const members = g.subjects.flatMap((subject): SearchMember[] => {
      if (fixedRate !== undefined) return [{ subject, start: fixedRate, fixed: true }];
      const start = startOf(subject.name);
      return start !== undefined ? [{ subject, start }] : [];
    });
    const probe =
      g.workload.work === 'none' && fixedRate === undefined ? members.filter((m) => m.subject.reference) : [];
    const rest = members.filter((m) => !probe.includes(m));
    // This workload's step runs so far: the reference's first search's spread is pooled into its second's.
    const searchedRuns: RunRecord[] = [];
    const resultOf = new Map<string, CapacityResult>();
    const search = async (list: SearchMember[], what = label): Promise<CapacityResult[]> => {
      if (list.length === 0 || signal.aborted) return [];
      const onStep = (model: string, rate: number, verdict: string, stepWhy: string): void =>
        hooks.status(`${what} · ${g.workload.name} · ${model} · ${formatRate(rate)} msgs/s: ${verdict} (${stepWhy})`);
      const results = await searchCapacities(
        list,
        g.workload,
        g.ctx,
        objective,
        {
          onRecord: (r) => {
            searchedRuns.push(r);
            hooks.onRecord(r);
          },
          onStep,
        },
        run,
      );
      list.forEach((m, i) => {
        const note = results[i]?.note;
        if (results[i]) resultOf.set(m.subject.name, results[i]);
        if (note && !signal.aborted) hooks.say(`${what} · ${g.workload.name} · ${m.subject.name}: ${note}`);
      });
      return results;
    };
    const cap = (await search(probe)).find((r) => r.failed !== undefined)?.failed;
    const capped = rest.map((m) => (cap !== undefined ? { ...m, cap } : m));
    await search(capped);
    // The reference again, from the rate it held: where its bracket moved, the machine did.
    const reference = [...probe, ...capped].find((m) => m.subject.reference);
    const first = reference && resultOf.get(reference.subject.name);
    if (fixedRate === undefined && reference && first?.held !== undefined && first.failed !== undefined)
      await search(
        [
          {
            ...reference,
            start: first.held,
            again: true,
            earlier: searchedRuns.filter((r) => r.model === reference.subject.name),
          },
        ],
        'drift: the reference again',
      );
  }
}
