/**
 * Expands workload families into workloads (the cartesian product of their array axes), applies overrides, and
 * decides by rule which (model × workload) cells make sense. Nothing is filtered by hand.
 */
import { formatSize } from '../../lib/format/units.js';
import type { Model } from '../../servers/registry.js';
import { UDP_MAX_PAYLOAD, UDP_TAG_BYTES } from '../../servers/protocol.js';
import type { Workload, WorkloadFamily, WorkloadParams } from './workloads.js';
import { AXIS_KEYS, axisLabel, DEFAULT_PARAMS } from './axes.js';

/** A cell whose frames in flight would hold more than this is not run. */
export const MAX_BYTES_IN_FLIGHT = 512 * 1024 * 1024;

/** The workloads of one family, with `overrides` replacing (and so un-sweeping) any axis they name. */
export function expandFamily(family: WorkloadFamily, overrides: Partial<WorkloadParams> = {}): Workload[] {
  const axes: Record<string, unknown> = { ...DEFAULT_PARAMS, ...family.axes, ...overrides };
  let combos: { params: Record<string, unknown>; labels: string[] }[] = [{ params: {}, labels: [] }];
  for (const axis of AXIS_KEYS) {
    const value = axes[axis];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    const swept = Array.isArray(value) && values.length > 1;
    combos = combos.flatMap((c) =>
      values.map((v) => ({
        params: { ...c.params, [axis]: v },
        labels: swept ? [...c.labels, axisLabel(axis, v)] : c.labels,
      })),
    );
  }
  return combos.map(({ params, labels }) => {
    const p = params as unknown as WorkloadParams;
    // One echo per connection is the whole point of connect-per-request.
    if (p.pattern === 'connect-per-request') p.inFlight = 1;
    return {
      ...p,
      name: labels.length > 0 ? `${family.name}/${labels.join(',')}` : family.name,
      family: family.name,
      description: family.description,
      predicts: family.predicts,
    };
  });
}

/** Descriptors a process needs beyond one per connection (stdio, epoll, pipes, node internals). */
export const FD_HEADROOM = 64;

export interface HostLimits {
  /** The soft RLIMIT_NOFILE the client and server processes inherit. */
  openFiles?: number;
}

/** Why a workload cannot run at all (whatever the model), or undefined. */
export function workloadExclusion(w: WorkloadParams, limits: HostLimits = {}): string | undefined {
  if (limits.openFiles !== undefined && w.connections + FD_HEADROOM > limits.openFiles) {
    return `${w.connections} connections need about ${w.connections + FD_HEADROOM} open files per process but ulimit -n is ${limits.openFiles} (raise it with ulimit -n)`;
  }
  if (w.rate !== undefined && w.pattern === 'connect-per-request')
    return 'an open-loop rate applies to persistent connections only';
  if (w.work.startsWith('handler:') && w.protocol !== 'tcp')
    return `a handler's answers are verified over framed TCP only (no ${w.protocol.toUpperCase()} driver here checks them)`;
  if (w.protocol === 'udp' && w.payloadBytes > UDP_MAX_PAYLOAD) return `UDP payloads stop at ${UDP_MAX_PAYLOAD} B`;
  if (w.protocol === 'udp' && w.pattern === 'connect-per-request') return 'UDP has no connections';
  if (w.protocol === 'udp' && w.payloadBytes < UDP_TAG_BYTES)
    return `UDP datagrams need ≥ ${UDP_TAG_BYTES} B for the flow id and sequence number`;
  if (w.driver === 'wrk' && w.pattern === 'connect-per-request')
    return 'wrk keeps its connections open (no connect-per-request)';
  if (w.driver === 'wrk' && w.rate !== undefined) return 'wrk has no constant-rate mode (that is wrk2)';
  const inFlightBytes = w.connections * w.inFlight * w.payloadBytes;
  if (inFlightBytes > MAX_BYTES_IN_FLIGHT) {
    return `${w.connections} connections × ${w.inFlight} × ${formatSize(w.payloadBytes)} in flight exceeds ${formatSize(MAX_BYTES_IN_FLIGHT)}`;
  }
  return undefined;
}

/** Why this model is not run on this workload, or undefined. Unavailable models are run as skipped records instead. */
export function cellExclusion(model: Model, w: WorkloadParams, limits: HostLimits = {}): string | undefined {
  if (!model.protocols.includes(w.protocol))
    return `${model.name} does not serve ${w.protocol}${model.whyNot?.[w.protocol] ? `: ${model.whyNot[w.protocol]}` : ''}`;
  if (w.work.startsWith('handler:') && model.runtime === 'native')
    return `${model.name} is the native ceiling: an echo in C, it runs no handler`;
  // The handler work is the built-in servers' (servers/work.ts): a server brought from outside does its own.
  if (model.runtime === 'external' && w.work !== 'none')
    return `${model.name} is an external server: --work ${w.work} applies to the built-in models (it does its own work)`;
  return workloadExclusion(w, limits);
}

export interface Cell {
  workload: Workload;
  model: Model;
}

export interface Plan {
  workloads: Workload[];
  cells: Cell[];
  excluded: { workload: string; model: string; reason: string }[];
}

export function planCells(workloads: readonly Workload[], models: readonly Model[], limits: HostLimits = {}): Plan {
  const cells: Cell[] = [];
  const excluded: Plan['excluded'] = [];
  const kept: Workload[] = [];
  for (const workload of workloads) {
    let any = false;
    for (const model of models) {
      const reason = cellExclusion(model, workload, limits);
      if (reason) excluded.push({ workload: workload.name, model: model.name, reason });
      else {
        cells.push({ workload, model });
        any = true;
      }
    }
    if (any) kept.push(workload);
  }
  return { workloads: kept, cells, excluded };
}
