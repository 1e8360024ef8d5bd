/** The micro-benchmark table (cli-table3) and its notes: the cpu: loop's calibration drift, skipped and failed rows. Pure. */
import Table from 'cli-table3';
import type { MicroRecord } from '../data/micro-record.js';
import { formatCpuPerMsg } from '../data/metrics.js';

const us = formatCpuPerMsg; // µs with the precision its size deserves: 0.31, 22.50, 203, 95.0ms

function sides(r: MicroRecord): string {
  if (!r.cpuBySide) return '';
  return Object.entries(r.cpuBySide)
    .map(([side, v]) => `${side} ${us(v)}`)
    .join(' + ');
}

export function microTable(records: readonly MicroRecord[], plain = false): string {
  const table = new Table({
    head: ['primitive', 'CPUs', 'mean µs', 'p50 µs', 'p99 µs', '±mean', 'samples', 'CPU µs/op', 'CPU by side'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const r of records) {
    if (r.status !== 'ok' || !r.latency) {
      table.push([r.title, r.cpus, { colSpan: 7, content: `${r.status}: ${r.reason ?? ''}` }]);
      continue;
    }
    const l = r.latency;
    table.push([
      r.title,
      r.cpus,
      us(l.meanUs),
      us(l.p50Us),
      us(l.p99Us),
      `${l.rmePercent.toFixed(1)}%`,
      String(l.samples),
      us(r.cpuUsPerOp ?? NaN),
      sides(r),
    ]);
  }
  return table.toString();
}

function percent(change: number): string {
  return `${change >= 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(1)}%`;
}

/** What the table cannot say in a cell: the cpu: loop's drift, and which primitives did not run. */
export function microNotes(records: readonly MicroRecord[], previous: readonly MicroRecord[] = []): string[] {
  const notes: string[] = [];
  for (const r of records.filter((x) => x.id.startsWith('cpu-loop') && x.status === 'ok' && x.details)) {
    const d = r.details!;
    const start = Number(d.iterationsPerUs);
    const end = Number(d.iterationsPerUsAtEnd);
    const target = Number(d.targetUs);
    // CPU per op is the loop's cost; wall time adds whatever took the CPU away meanwhile (other threads, steal).
    const cpu = r.cpuUsPerOp ?? NaN;
    const parts = [
      `${r.title} on CPUs ${r.cpus}: ${us(cpu)} µs of CPU for ${target} µs asked (${percent(cpu / target - 1)}), ${us(r.latency!.meanUs)} µs wall`,
    ];
    if (start > 0 && end > 0)
      parts.push(
        `calibration ${start.toFixed(1)} → ${end.toFixed(1)} iterations/µs during the run (${percent(end / start - 1)})`,
      );
    const before = previous.find(
      (p) => p.id === r.id && p.cpus === r.cpus && p.status === 'ok' && Number(p.details?.iterationsPerUs) > 0,
    );
    if (before && start > 0)
      parts.push(
        `vs the previous micro run ${before.runId}: ${percent(start / Number(before.details!.iterationsPerUs) - 1)}`,
      );
    notes.push(parts.join('; '));
  }
  const notRun = records.filter((r) => r.status !== 'ok');
  if (notRun.length > 0)
    notes.push(`not measured: ${notRun.map((r) => `${r.id} on ${r.cpus} (${r.status}: ${r.reason})`).join('; ')}`);
  return notes;
}
