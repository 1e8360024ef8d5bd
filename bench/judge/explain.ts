/**
 * Why a verdict row came out as it did, in words: what each model costs per message beside the leader's. Pure.
 */
import type { CellSummary } from './aggregate.js';
import type { VerdictRow } from './verdict.js';
import { METRIC_IDS, METRICS, type MetricId } from '../data/metrics.js';

/** CPU first (what the server pays), then what the code asked for: instructions, syscalls, context switches. */
const WHY_ORDER: readonly MetricId[] = ['cpuPerMsg', 'instructionsPerMsg', 'syscallsPerMsg', 'ctxSwitchesPerMsg'];
import { formatPercent } from '../../lib/format/units.js';

/** The costs that say why, in the order they are looked at (metrics.ts: why): each shown where it differs from the leader's. */
const WHY = METRIC_IDS.flatMap((id) => (METRICS[id].why ? [{ id, ...METRICS[id].why }] : [])).sort(
  (a, b) => WHY_ORDER.indexOf(a.id) - WHY_ORDER.indexOf(b.id),
);

function range(values: readonly number[], format: (v: number) => string): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return format(lo) === format(hi) ? format(lo) : `${format(lo)}–${format(hi)}`;
}

/**
 * Why a row came out as it did: the tie group's costs per message (ranges), and for each model behind, its score
 * with what differs from the leader: CPU used (fewer CPUs busy), CPU per message, instructions, syscalls, context
 * switches (× the leader's), connections it serves at once. Pure.
 */
export function explainRow(row: VerdictRow, cells: readonly CellSummary[]): string | undefined {
  const byModel = new Map(
    cells.filter((c) => c.workload === row.workload && c.params.protocol === row.protocol).map((c) => [c.model, c]),
  );
  const med = (c: CellSummary, id: MetricId): number => c.metrics[id].median;
  const group = (row.winners.length > 0 ? row.winners : (row.leading ?? []))
    .map((m) => byModel.get(m))
    .filter((c): c is CellSummary => c !== undefined);
  const leader = group[0];
  if (!leader) return undefined;
  const costs = WHY.filter((w) => group.every((c) => Number.isFinite(med(c, w.id)))).map(
    (w) =>
      `${range(
        group.map((c) => med(c, w.id)),
        METRICS[w.id].format,
      )} ${w.short}`,
  );
  const behind = row.cells
    .filter(
      (v) => v.status === 'beaten' || v.status === 'behind' || v.status === 'missed-rate' || v.status === 'undecided',
    )
    .sort((a, b) => (b.relative ?? 0) - (a.relative ?? 0))
    .flatMap((v) => {
      const c = byModel.get(v.model);
      if (!c) return [];
      const notes: string[] = [];
      if (v.status === 'missed-rate') notes.push('missed the rate');
      if (c.servesAtOnce !== undefined && c.servesAtOnce < c.params.connections)
        notes.push(`serves ${c.servesAtOnce} of ${c.params.connections} connections at once`);
      if (leader.serverCpuPercent > 1.3 * c.serverCpuPercent)
        notes.push(`server CPU ${formatPercent(c.serverCpuPercent)} vs ${formatPercent(leader.serverCpuPercent)}`);
      for (const w of WHY) {
        const x = med(c, w.id);
        const l = med(leader, w.id);
        if (Number.isFinite(x) && Number.isFinite(l) && l > 0 && w.notable(x, l))
          notes.push(`${METRICS[w.id].format(x)} ${w.short}/msg (${(x / l).toFixed(1)}×)`);
        if (notes.length >= 3) break;
      }
      return [
        `${v.model} ${v.relative !== undefined ? v.relative.toFixed(2) : '?'}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`,
      ];
    });
  const parts = [`${group.length > 1 ? 'tie group' : leader.model} at ${costs.join(', ')} per message`];
  if (behind.length > 0) parts.push(`behind it: ${behind.join('; ')}`);
  return parts.join('; ');
}
