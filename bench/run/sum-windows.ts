/**
 * A side of an --against block measured in several windows (bench/run/run-block.ts) is recorded as one run: its windows'
 * driver results and server usages summed here. Counts add up, rates and percentages are weighted by each window's
 * length, percentiles come from the merged histogram (never averaged), and a window that saturated the client or
 * went wrong marks the whole run. Pure functions of the windows.
 */
import { encodeHistogram, mergeHistograms, summarize } from '../../clients/histogram.js';
import { sumErrors, type LoadResult } from '../../clients/load-result.js';
import type { ServerUsage } from '../data/record.js';

function weighted(values: readonly (number | undefined)[], weights: readonly number[]): number | undefined {
  let sum = 0;
  let total = 0;
  values.forEach((v, i) => {
    if (v === undefined) return;
    sum += v * weights[i]!;
    total += weights[i]!;
  });
  return total > 0 ? sum / total : undefined;
}

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** The driver's results of consecutive windows on the same server as one result. */
export function sumLoadResults(windows: readonly LoadResult[]): LoadResult {
  if (windows.length === 0) throw new Error('sumLoadResults: no windows');
  if (windows.length === 1) return windows[0]!;
  const first = windows[0]!;
  const seconds = windows.reduce((s, w) => s + w.seconds, 0);
  const messages = windows.reduce((s, w) => s + w.messages, 0);
  const bytes = windows.reduce((s, w) => s + w.bytes, 0);
  const weights = windows.map((w) => w.seconds);
  const histograms = defined(windows.map((w) => w.histogram));
  const merged = histograms.length === windows.length ? mergeHistograms(histograms) : undefined;
  const saturated = windows.find((w) => w.client.saturated);
  const elu = weighted(
    windows.map((w) => w.client.eventLoopUtilization),
    weights,
  );
  const busiest = defined(windows.map((w) => w.client.busiestThreadCpuPercent));
  const connections = defined(windows.map((w) => w.connections));
  const openLoop = defined(windows.map((w) => w.openLoop));
  const firstError = windows.find((w) => w.firstError !== undefined)?.firstError;
  // Without every window's histogram the percentiles cannot be merged: the longest window's stand in.
  const longest = [...windows].sort((a, b) => b.seconds - a.seconds)[0]!;
  const result: LoadResult = {
    driver: first.driver,
    seconds,
    messages,
    bytes,
    msgsPerSec: seconds > 0 ? messages / seconds : 0,
    bytesPerSec: seconds > 0 ? bytes / seconds : 0,
    latency: merged ? summarize(merged) : longest.latency,
    ...(merged ? { histogram: encodeHistogram(merged) } : {}),
    latencyResolution: windows.some((w) => w.latencyResolution === 'ms') ? 'ms' : 'us',
    errors: sumErrors(windows.map((w) => w.errors)),
    client: {
      cpuPercent:
        weighted(
          windows.map((w) => w.client.cpuPercent),
          weights,
        ) ?? 0,
      ...(elu !== undefined ? { eventLoopUtilization: elu } : {}),
      saturated: saturated !== undefined,
      ...(saturated?.client.reason ? { reason: saturated.client.reason } : {}),
      ...(first.client.threads !== undefined ? { threads: first.client.threads } : {}),
      ...(busiest.length > 0 ? { busiestThreadCpuPercent: Math.max(...busiest) } : {}),
    },
    ...(connections.length > 0
      ? {
          connections: {
            total: Math.max(...connections.map((c) => c.total)),
            served: Math.min(...connections.map((c) => c.served)),
          },
        }
      : {}),
    ...(firstError !== undefined ? { firstError } : {}),
    ...(openLoop.length > 0
      ? {
          openLoop: { targetRate: openLoop[0]!.targetRate, backlogged: openLoop.reduce((s, o) => s + o.backlogged, 0) },
        }
      : {}),
    ...(first.readiness ? { readiness: first.readiness } : {}),
  };
  // An open loop's uncorrected latency has no histogram to merge: it is left out of a run of several windows.
  return result;
}

/** The server's usage over consecutive windows (weights: each window's seconds) as one usage. */
export function sumServerUsage(usages: readonly ServerUsage[], seconds: readonly number[]): ServerUsage {
  if (usages.length === 0) throw new Error('sumServerUsage: no windows');
  if (usages.length === 1) return usages[0]!;
  const w = (pick: (u: ServerUsage) => number | undefined): number | undefined => weighted(usages.map(pick), seconds);
  const sumOf = <K extends 'syscalls' | 'contextSwitches'>(key: K): ServerUsage[K] | undefined => {
    const parts = usages.map((u) => u[key]);
    if (parts.some((p) => p === undefined)) return undefined;
    const out: Record<string, number> = {};
    for (const p of parts as Record<string, number>[])
      for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
    return out as ServerUsage[K];
  };
  const optional = (key: string, v: number | undefined): Record<string, number> =>
    v !== undefined ? { [key]: v } : {};
  const syscalls = sumOf('syscalls');
  const contextSwitches = sumOf('contextSwitches');
  const threads = defined(usages.map((u) => u.threads));
  return {
    cpuPercent: w((u) => u.cpuPercent) ?? 0,
    cpuClock: usages.every((u) => u.cpuClock === 'schedstat') ? 'schedstat' : 'ticks',
    ...optional(
      'cpuTickPercent',
      w((u) => u.cpuTickPercent),
    ),
    ...(threads.length > 0 ? { threads: Math.max(...threads) } : {}),
    ...(syscalls ? { syscalls } : {}),
    ...(contextSwitches ? { contextSwitches } : {}),
    rssPeakBytes: Math.max(...usages.map((u) => u.rssPeakBytes)),
    ...(usages.every((u) => u.pssBytes !== undefined) ? { pssBytes: Math.max(...usages.map((u) => u.pssBytes!)) } : {}),
    processes: Math.max(...usages.map((u) => u.processes)),
    ...optional(
      'hostStealPercent',
      w((u) => u.hostStealPercent),
    ),
    ...optional(
      'hostBusyPercent',
      w((u) => u.hostBusyPercent),
    ),
    ...optional(
      'otherProcessesPercent',
      w((u) => u.otherProcessesPercent),
    ),
    ...optional(
      'otherLoadPercent',
      w((u) => u.otherLoadPercent),
    ),
  };
}
