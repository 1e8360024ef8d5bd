/** The lines the bench writes to stderr while it works: the plan before, a line per run, a line per counted run. */
import { wrap } from '../../lib/format/wrap.js';
import { formatRate } from '../../lib/format/units.js';
import { METRICS } from '../data/metrics.js';
import type { Plan } from '../data/matrix.js';
import type { RunRecord } from '../data/record.js';
import type { Workload } from '../data/workloads.js';
import type { Settings } from '../data/settings.js';
import type { CpuSplit } from '../run/pinning.js';
import type { Progress } from '../run/orchestrator.js';
import type { CeilingTarget } from '../host/ceiling.js';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** What --slo does after the timed runs: a workload open loop already is checked at its own rate, the others searched. */
function sloPlan(objective: string, atOwnRate: number, workloads: number): string {
  if (atOwnRate === workloads)
    return `then: whether each model holds ${objective} at the workload's own rate (five runs at most)`;
  const checked = atOwnRate > 0 ? `; the open-loop rows checked at their own rates` : '';
  return `then: each model's capacity at ${objective}, searched (five runs a step at most)${checked}`;
}

/** What will run, where, and about how long it takes: printed once before the first run. */
export function planLines(o: {
  settings: Settings;
  plan: Plan;
  notes: readonly string[];
  sides: number;
  splits: ReadonlyMap<Workload, CpuSplit>;
  ceilings: ReadonlyMap<Workload, CeilingTarget | undefined>;
  estimateSec: number;
  budgetSec?: number;
}): string[] {
  const { settings: s, plan, sides } = o;
  const adaptive =
    s.maxRuns > s.runs
      ? `, then up to ${s.maxRuns} runs per cell for the comparisons still undecided at ±${s.marginPercent}%`
      : '';
  const budget =
    o.budgetSec !== undefined ? `; at most ${formatDuration(Math.max(o.budgetSec, o.estimateSec))} of runs` : '';
  const cells = `conbench ${s.profile}: ${plan.workloads.length} workload(s) × ${new Set(plan.cells.map((c) => c.model.name)).size} model(s) = ${plan.cells.length} cells${sides > 1 ? ' × 2 sides' : ''}`;
  const lines = [
    s.skipTiming
      ? `${cells}, counted only (no timed runs): ${s.countRuns} callgrind process(es) a cell${sides > 1 ? ' and side' : ''}`
      : `${cells} × ${s.runs} runs (${s.warmupSec}+${s.durationSec} s each)${adaptive}; about ${formatDuration(o.estimateSec)} for the first ${s.runs}${budget}`,
    ...(s.slo === undefined
      ? []
      : s.sloSearches
        ? [sloPlan(s.slo.text, plan.workloads.filter((w) => w.rate !== undefined).length, plan.workloads.length)]
        : [
            `then: whether each model holds ${s.slo.text} at the open-loop rows' rates (the profile's objective; --slo P=LAT searches every workload's capacity)`,
          ]),
    ...o.notes.map((n) => `note: ${n}`),
  ];
  // Once per distinct split: where each side runs, with how many driver threads, and why.
  const planned = new Map<string, { split: CpuSplit; workloads: string[] }>();
  for (const [w, split] of o.splits) {
    const key = `${split.mode} ${split.describe}`;
    planned.set(key, { split, workloads: [...(planned.get(key)?.workloads ?? []), w.name] });
  }
  for (const { split, workloads } of planned.values())
    lines.push(
      `CPU split (${split.mode}; ${workloads.join(', ')}): ${split.describe}${split.why ? `\n  why: ${split.why}` : ''}`,
    );
  for (const c of new Set(o.ceilings.values()))
    if (c) lines.push(`driver ceiling measured against ${c.describe}; rows within 20% of it are marked client-bound`);
  if (plan.excluded.length > 0) {
    const byReason = new Map<string, number>();
    for (const e of plan.excluded) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
    lines.push(`excluded by rule: ${[...byReason].map(([r, n]) => `${n} × ${r}`).join('; ')}`);
  }
  return lines;
}

/** One timed run as it finishes. */
export function runLine(p: Progress): string {
  const r = p.record;
  const what =
    r.status === 'ok' && r.result
      ? `${formatRate(r.result.msgsPerSec)} msgs/s${r.result.client.saturated ? ' (client saturated)' : ''}${r.discarded ? ` — set aside: ${r.discarded}` : ''}`
      : `${r.status}: ${r.reason}`;
  const count = p.adaptive
    ? `+${p.done - p.planned} adaptive, ≤ ${formatDuration(p.etaSec)} left`
    : `${String(p.done).padStart(String(p.planned).length)}/${p.planned} ETA ${formatDuration(p.etaSec)}`;
  return `[${count}] ${r.workload} · ${r.model}${r.side ? ` (${r.side})` : ''} · run ${r.run + 1}: ${what}`;
}

/** One counted run as it finishes: the metric's own value (the median window), what the gate will compare. */
export function countedLine(what: string, r: RunRecord, done: number, total: number): string {
  const instructions = r.status === 'ok' ? METRICS.instructionsPerMsg.ofRun(r) : undefined;
  const line =
    r.status === 'ok' && r.counts && instructions !== undefined
      ? `${Math.round(instructions)} instructions/msg (${r.counts.warmWindows} warm windows)${r.reason ? ` — ${r.reason}` : ''}`
      : `${r.status}: ${r.reason}`;
  return `[${what} ${done}/${total}] ${r.workload} · ${r.model}${r.side ? ` (${r.side})` : ''} · run ${r.run + 1}: ${line}`;
}

/** A disturbance that persisted, and what happens now. */
export function disturbedLines(what: string, mode: 'stop' | 'keep'): string {
  return `\n⚠ ${what}\n  ${mode === 'stop' ? 'stopping the suite (exit 1); --if-disturbed keep measures on with such runs counted and marked' : 'measuring on (--if-disturbed keep): such runs now count, marked in the records and the tables'}`;
}

/**
 * The run lines: in a terminal one line, rewritten in place (and cleared before anything else is written); to a pipe
 * or a file, a line each, as before, for the logs.
 */
export function progressLine(stream: NodeJS.WriteStream): { status(line: string): void; done(): void } {
  if (!stream.isTTY) return { status: (line) => void stream.write(`${line}\n`), done: () => {} };
  let shown = false;
  const write = stream.write.bind(stream);
  // Whatever else is written first clears the status line, so it never runs into it; and is wrapped to the width.
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (shown) {
      write('\r\x1b[K');
      shown = false;
    }
    return write(typeof chunk === 'string' ? wrap(chunk, stream.columns, '    ') : chunk, ...rest);
  }) as typeof stream.write;
  return {
    status: (line) => {
      const width = stream.columns ?? 100;
      write(`\r\x1b[K${[...line].slice(0, width - 1).join('')}`);
      shown = true;
    },
    done: () => {
      if (shown) write('\r\x1b[K');
      shown = false;
      stream.write = write as typeof stream.write;
    },
  };
}
