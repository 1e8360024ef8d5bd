/**
 * A suite's cells in github-action-benchmark's JSON (tool `customBiggerIsBetter` / `customSmallerIsBetter`), so
 * projects that already chart with that action can feed it conbench's numbers. Pure.
 */
import type { CellSummary } from '../judge/aggregate.js';
import { isCeiling } from '../data/record.js';

export interface BenchmarkEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

function range(low: number, high: number, value: number): string | undefined {
  return Number.isFinite(low) && Number.isFinite(high)
    ? `± ${((high - low) / 2).toFixed(value >= 100 ? 0 : 2)}`
    : undefined;
}

export function githubBenchmarkJson(cells: readonly CellSummary[]): {
  bigger: BenchmarkEntry[];
  smaller: BenchmarkEntry[];
} {
  const bigger: BenchmarkEntry[] = [];
  const smaller: BenchmarkEntry[] = [];
  for (const c of cells) {
    if (c.status !== 'ok' || c.okRuns === 0 || isCeiling(c.model)) continue;
    const name = `${c.params.protocol}/${c.workload}/${c.model}`;
    const extra = `${c.okRuns} runs, driver ${c.params.driver}${c.clientSaturated ? ', client-bound' : ''}${c.conclusive ? '' : ', inconclusive'}`;
    const t = c.throughput;
    const tr = range(t.low, t.high, t.mean);
    bigger.push({
      name: `${name} throughput`,
      unit: 'msgs/s',
      value: Math.round(t.mean),
      ...(tr ? { range: tr } : {}),
      extra,
    });
    const cpu = c.serverCpuInterval;
    if (cpu.n > 0) {
      const cr = range(cpu.low, cpu.high, cpu.mean);
      smaller.push({
        name: `${name} server CPU per message`,
        unit: 'µs',
        value: Number(cpu.mean.toFixed(3)),
        ...(cr ? { range: cr } : {}),
        extra,
      });
    }
    if (c.params.rate !== undefined)
      smaller.push({ name: `${name} p99 (open loop)`, unit: 'µs', value: c.latency.p99, extra });
  }
  return { bigger, smaller };
}
