/**
 * What the CPU split is sized from, reused from the newest suite of this machine rather than measured again: one
 * native driver thread's capacity (its msgs/s divided by the busiest thread's CPU share), and one Node worker's
 * (an echo server's msgs/s divided by its CPU share, the fastest model's). A suite made on another machine or CPU
 * says nothing about this one: then the capacities are assumed, and the plan says so.
 */
import { ASSUMED_CAPACITIES, type Capacities } from './pinning.js';
import { readRecords, recordsFileFor } from '../data/records-file.js';
import { timedRuns } from '../judge/aggregate.js';
import { median } from '../data/stats.js';
import type { Environment, RunRecord } from '../data/record.js';
import { MODELS } from '../../servers/registry.js';

/** Pure: the capacities a suite's records show, for the machine `env` describes. */
export function capacitiesFrom(
  records: readonly RunRecord[],
  env: Pick<Environment, 'hostname' | 'cpuModel'>,
  label: string,
): Capacities {
  const mine = timedRuns(records).filter(
    (r) => r.env.hostname === env.hostname && r.env.cpuModel === env.cpuModel && !r.server.agent,
  );
  const driver = mine
    .filter((r) => r.result.driver === 'native' && (r.result.client.busiestThreadCpuPercent ?? 0) >= 30)
    .map(
      (r) =>
        r.result.msgsPerSec / (r.result.client.threads ?? 1) / ((r.result.client.busiestThreadCpuPercent ?? 100) / 100),
    );
  const node = new Set(MODELS.filter((m) => m.runtime === 'node').map((m) => m.name));
  const echo = mine.filter(
    (r) =>
      node.has(r.model) &&
      r.server.workers === 1 &&
      r.params.work === 'none' &&
      r.params.pattern === 'persistent' &&
      r.params.rate === undefined &&
      r.params.payloadBytes <= 1024 &&
      !r.result.client.saturated &&
      (r.server.usage?.cpuPercent ?? 0) >= 50,
  );
  const perModel = [...new Set(echo.map((r) => r.model))].map((m) =>
    median(echo.filter((r) => r.model === m).map((r) => r.result.msgsPerSec / (r.server.usage!.cpuPercent / 100))),
  );
  if (driver.length === 0 && perModel.length === 0) return ASSUMED_CAPACITIES;
  return {
    driverPerThread: driver.length > 0 ? median(driver) : ASSUMED_CAPACITIES.driverPerThread,
    serverPerWorker: perModel.length > 0 ? Math.max(...perModel) : ASSUMED_CAPACITIES.serverPerWorker,
    source: `measured in ${label} (${driver.length} driver run(s), ${echo.length} echo run(s))${driver.length === 0 || perModel.length === 0 ? ', the rest assumed' : ''}`,
  };
}

/** From the newest suite under a results root, when there is one of this machine. */
export function measuredCapacities(root: string, env: Pick<Environment, 'hostname' | 'cpuModel'>): Capacities {
  try {
    const file = recordsFileFor(root);
    return capacitiesFrom(
      readRecords(file, () => {}),
      env,
      file.replace(/\/records\.jsonl$/, ''),
    );
  } catch {
    return ASSUMED_CAPACITIES;
  }
}
