/**
 * The driver's own ceiling (HTTP: nginx, or our event-loop answering GET, measured like a model): a row that came
 * within CEILING_MARGIN of it measured the driver, not the server, and is marked client-bound. Pure.
 */
import type { CellSummary } from './aggregate.js';
import { CEILING_PREFIX, isCeiling } from '../data/record.js';

/** A row within this fraction of the ceiling is client-bound. */
export const CEILING_MARGIN = 0.2;

/**
 * Marks rows within CEILING_MARGIN of their workload's ceiling as client-bound. Pure: returns new summaries.
 */
export function applyDriverCeiling(cells: readonly CellSummary[]): CellSummary[] {
  const ceilings = new Map<string, CellSummary>();
  for (const c of cells)
    if (isCeiling(c.model) && c.status === 'ok') ceilings.set(`${c.params.protocol}/${c.workload}`, c);
  return cells.map((c) => {
    const ceiling = ceilings.get(`${c.params.protocol}/${c.workload}`);
    if (!ceiling || isCeiling(c.model) || c.status !== 'ok' || c.clientSaturated) return c;
    const limit = ceiling.throughput.median;
    if (c.throughput.median < limit * (1 - CEILING_MARGIN)) return c;
    return {
      ...c,
      clientSaturated: true,
      clientReason: `within ${CEILING_MARGIN * 100}% of the driver's ceiling (${Math.round(limit)}/s against ${ceiling.model.slice(CEILING_PREFIX.length)})`,
    };
  });
}
