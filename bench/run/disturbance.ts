/**
 * A disturbance that does not pass. A run during which the hypervisor or other processes took CPU is set aside and
 * repeated — right for a passing neighbour, wrong for one that stays: a busy loop pinned beside the driver set aside
 * all 120 timed runs of a suite, which spent its whole budget on repeats and said nothing. After `after` runs in a row
 * set aside for the same cause, over at least `afterSec` (a ten-second compile is not a neighbour that stays), the
 * suite names it — which CPUs were busy, how busy, the busiest other processes — and
 * stops, or (as the user chose) measures on with such runs counted and marked.
 */
import { DEFAULTS } from '../../lib/defaults.js';
import type { OkRecord, RunRecord, ServerUsage } from '../data/record.js';

export type DisturbanceCause = 'steal' | 'other-load';

export interface Disturbance {
  cause: DisturbanceCause;
  /** One line: what took the CPU during the window, and how much. */
  text: string;
}

export interface DisturbanceLimits {
  /** % of the machine's CPU the hypervisor may steal during a window. */
  stealLimitPercent: number;
  /** % of one CPU other processes may use during a window. */
  otherLoadLimitPercent: number;
}

/** What disturbed a window beyond the limits, or undefined. Pure. */
export function disturbanceOf(usage: ServerUsage | undefined, limits: DisturbanceLimits): Disturbance | undefined {
  const steal = usage?.hostStealPercent;
  const other = usage?.otherLoadPercent;
  if (steal !== undefined && steal > limits.stealLimitPercent)
    return {
      cause: 'steal',
      text: `the hypervisor stole ${steal.toFixed(0)}% of the CPU during the window (limit ${limits.stealLimitPercent}%)`,
    };
  if (other !== undefined && other > limits.otherLoadLimitPercent)
    return {
      cause: 'other-load',
      text: `other processes used ${other.toFixed(0)}% of a CPU during the window (limit ${limits.otherLoadLimitPercent}%)`,
    };
  return undefined;
}

/** What `disturb --if-disturbed` chooses once a disturbance persists. */
export type DisturbedMode = 'stop' | 'keep';

/** Set-aside runs in a row, of one cause and over at least PERSISTENT_SEC, that make a disturbance persistent. */
export const PERSISTENT_AFTER = DEFAULTS.persistentAfter;
export const PERSISTENT_SEC = DEFAULTS.persistentSec;

function range(values: readonly number[]): string {
  const lo = Math.min(...values).toFixed(0);
  const hi = Math.max(...values).toFixed(0);
  return lo === hi ? `${lo}%` : `${lo}–${hi}%`;
}

/**
 * The persistent disturbance in words, from the runs it set aside: its cause with its range, the CPUs busy in every
 * one of them, and the busiest other processes seen. Pure.
 */
export function describePersistent(runs: readonly OkRecord[], cause: DisturbanceCause): string {
  const usages = runs.map((r) => r.server.usage).filter((u): u is ServerUsage => u !== undefined);
  const parts: string[] = [];
  if (cause === 'steal')
    parts.push(
      `the hypervisor stole ${range(usages.map((u) => u.hostStealPercent ?? 0))} of the machine's CPU during each`,
    );
  else parts.push(`other processes used ${range(usages.map((u) => u.otherLoadPercent ?? 0))} of a CPU during each`);
  const cpus = Object.keys(usages[0]?.cpuBusyPercent ?? {}).map(Number);
  const busy = cpus
    .map((id) => ({ id, least: Math.min(...usages.map((u) => u.cpuBusyPercent?.[id] ?? 0)) }))
    .filter((c) => c.least >= 90)
    .map((c) => `CPU ${c.id} ≥ ${c.least.toFixed(0)}% busy in each`);
  if (busy.length > 0) parts.push(busy.join(', '));
  const seen = new Map<string, { pid: number; command: string; cpuPercent: number }>();
  for (const u of usages)
    for (const p of u.busiestOthers ?? [])
      if ((seen.get(`${p.pid}`)?.cpuPercent ?? -1) < p.cpuPercent) seen.set(`${p.pid}`, p);
  const busiest = [...seen.values()].sort((a, b) => b.cpuPercent - a.cpuPercent).slice(0, 3);
  if (busiest.length > 0)
    parts.push(
      `the busiest other processes: ${busiest.map((p) => `pid ${p.pid} (${p.command}) ${p.cpuPercent.toFixed(0)}%`).join(', ')}`,
    );
  const spanSec =
    (Date.parse(runs.at(-1)!.time) - Date.parse(runs[0]!.time)) / 1000 + (runs.at(-1)!.window?.durationSec ?? 0);
  return `a disturbance that persists: the last ${runs.length} runs, over ${Math.round(spanSec)} s, were set aside, ${parts.join('; ')}`;
}

/**
 * Follows set-aside runs as they come, in order. `see` returns the persistent disturbance the first time `after`
 * runs in a row were set aside for the same cause (a run that counted, or another cause, starts the count again).
 */
export class DisturbanceWatch {
  private streak: OkRecord[] = [];
  private cause: DisturbanceCause | undefined;
  private named = false;

  constructor(
    private readonly limits: DisturbanceLimits,
    private readonly after = PERSISTENT_AFTER,
    private readonly afterSec = PERSISTENT_SEC,
  ) {}

  see(record: RunRecord): string | undefined {
    if (record.status !== 'ok' || record.counts !== undefined) return undefined;
    const d = record.discarded !== undefined ? disturbanceOf(record.server.usage, this.limits) : undefined;
    if (!d || d.cause !== this.cause) this.streak = [];
    this.cause = d?.cause;
    if (!d) return undefined;
    this.streak.push(record);
    const spanSec =
      (Date.parse(record.time) - Date.parse(this.streak[0]!.time)) / 1000 + (record.window?.durationSec ?? 0);
    if (this.named || this.streak.length < this.after || !(spanSec >= this.afterSec)) return undefined;
    this.named = true;
    return describePersistent(this.streak, d.cause);
  }

  /** A persistent disturbance has been named. */
  get persistent(): boolean {
    return this.named;
  }
}
