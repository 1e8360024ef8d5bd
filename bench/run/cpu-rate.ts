/**
 * The spin loop's rate (iterations per µs) that turns cpu:<µs> work into a count of iterations, kept per machine.
 *
 * Why kept, not measured by every suite: the same search run twice on this VM a quarter of an hour apart calibrated
 * 8 % apart (136,215 and 125,849 iterations for cpu:200), so the two suites did different work and event-loop's
 * capacity moved 15 %, outside either run's interval. A rate is measured once per machine (CPU model and host name)
 * and kept beside the suites: every later suite there does the same iterations, and a suite judged against a saved
 * baseline does the baseline's, so a gate compares the same work.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Environment, RunRecord } from '../data/record.js';
import { median } from '../data/stats.js';
import { timedRuns } from '../judge/aggregate.js';

export const CPU_RATE_FILE = 'cpu-rate.json';

type Machine = Pick<Environment, 'hostname' | 'cpuModel'>;

/** A rate, and where it came from (said on the plan's line). */
export interface CpuRate {
  iterationsPerUs: number;
  source: string;
}

interface KeptRate extends Machine {
  iterationsPerUs: number;
  suiteId: string;
  time: string;
}

/** Pure: the rate a suite's servers ran cpu:<µs> work at (iterations per message ÷ µs), when any did. */
export function rateOfRecords(records: readonly RunRecord[]): number | undefined {
  // Counted runs are left out: under callgrind the work is a fixed small count (run/counts.ts), not this rate.
  const rates = timedRuns(records).flatMap((r) => {
    const micros = /^cpu:(\d+(?:\.\d+)?)$/.exec(r.params.work)?.[1];
    const iterations = r.server.details?.cpuIterations;
    return micros !== undefined && typeof iterations === 'number' ? [iterations / Number(micros)] : [];
  });
  return rates.length > 0 ? median(rates) : undefined;
}

/** The rate kept for this machine under a results root; none when there is none, or it is another machine's. */
export function keptCpuRate(root: string, machine: Machine): CpuRate | undefined {
  let kept: Partial<KeptRate>;
  try {
    kept = JSON.parse(readFileSync(path.join(root, CPU_RATE_FILE), 'utf8')) as Partial<KeptRate>;
  } catch {
    return undefined; // none yet, or unreadable: calibrate again
  }
  if (
    kept.hostname !== machine.hostname ||
    kept.cpuModel !== machine.cpuModel ||
    typeof kept.iterationsPerUs !== 'number' ||
    !(kept.iterationsPerUs > 0)
  )
    return undefined;
  return {
    iterationsPerUs: kept.iterationsPerUs,
    source: `calibrated on this machine for suite ${kept.suiteId ?? '?'} (${path.join(root, CPU_RATE_FILE)}; --recalibrate measures it again)`,
  };
}

/** Keeps a freshly calibrated rate for this machine's next suites (written whole, then renamed into place). */
export function keepCpuRate(root: string, machine: Machine, iterationsPerUs: number, suiteId: string): void {
  const file = path.join(root, CPU_RATE_FILE);
  const kept: KeptRate = {
    hostname: machine.hostname,
    cpuModel: machine.cpuModel,
    iterationsPerUs,
    suiteId,
    time: new Date().toISOString(),
  };
  writeFileSync(`${file}.tmp`, JSON.stringify(kept, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}
