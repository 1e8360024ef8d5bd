/**
 * --slo: after the timed runs, a capacity search for every model of every closed-loop workload of persistent
 * connections, each starting from the model's own closed-loop throughput (bench/run/capacity-search.ts).
 */
import { searchCapacity } from '../run/capacity-search.js';
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

/** Why a workload gets no capacity search, or undefined when it does. Pure. */
export function noSearchReason(w: WorkloadGroup['workload']): string | undefined {
  if (w.rate !== undefined) return 'it is open loop already (its rate is fixed)';
  if (w.pattern !== 'persistent') return `its connections are not persistent (${w.pattern})`;
  return undefined;
}

export async function runCapacityPhase(
  groups: readonly WorkloadGroup[],
  timed: readonly RunRecord[],
  objective: Objective,
  signal: AbortSignal,
  hooks: CapacityHooks,
): Promise<void> {
  for (const g of groups) {
    const why = noSearchReason(g.workload);
    if (why) {
      hooks.say(`capacity at ${objective.text}: ${g.workload.name} left out: ${why}`);
      continue;
    }
    // The reference first (the native server): without handler work its per-frame cost is negligible, so where the
    // driver gives out on it bounds every other search. With handler work it is one more single-threaded model.
    let cap: number | undefined;
    const driverProbe = g.workload.work === 'none';
    const ordered = [...g.subjects.filter((s) => s.reference), ...g.subjects.filter((s) => !s.reference)];
    for (const subject of ordered) {
      if (signal.aborted) return;
      const runs = timedRuns(
        timed.filter(
          (r) =>
            r.workload === g.workload.name && r.params.protocol === g.workload.protocol && r.model === subject.name,
        ),
      );
      if (runs.length === 0) continue;
      const start = mean(runs.map((r) => r.result.msgsPerSec));
      const what = `capacity · ${g.workload.name} · ${subject.name}`;
      const result = await searchCapacity(
        subject,
        g.workload,
        g.ctx,
        objective,
        start,
        {
          onRecord: hooks.onRecord,
          onStep: (rate, verdict, stepWhy) =>
            hooks.status(`${what} · ${formatRate(rate)} msgs/s: ${verdict} (${stepWhy})`),
        },
        subject.reference ? undefined : cap,
      );
      if (subject.reference && driverProbe) cap = result.failed ?? result.aboutAt ?? cap;
      if (result.note && !signal.aborted) hooks.say(`${what}: ${result.note}`);
    }
  }
}
