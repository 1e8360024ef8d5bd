/** The verdict matrix: rows workloads, columns models, throughput relative to the row's best. Pure. */
import Table from 'cli-table3';
import type { VerdictCell, VerdictRow } from '../verdict.js';

const MARK: Record<VerdictCell['status'], string> = {
  winner: '★',
  tie: '≈',
  ranked: '',
  inconclusive: '?',
  saturated: 'client-sat',
  errored: 'error',
  skipped: 'skipped',
  interrupted: 'interrupted',
  invalid: 'BAD ECHO',
  ceiling: 'ceiling',
};

export function verdictCellText(c: VerdictCell | undefined): string {
  if (!c) return '—';
  const rel = c.relative !== undefined ? c.relative.toFixed(2) : '';
  const dagger = c.timeouts ? '†' : '';
  switch (c.status) {
    case 'winner':
    case 'tie':
      return `${rel} ${MARK[c.status]}${dagger}`;
    case 'ranked':
      return `${rel}${dagger}`;
    case 'inconclusive':
      return `${rel} ${MARK[c.status]}${dagger}`.trim();
    case 'saturated':
    case 'ceiling':
      return `${rel} ${MARK[c.status]}`.trim();
    default:
      return MARK[c.status];
  }
}

export const VERDICT_LEGEND =
  'throughput relative to the best ranked Node model in the row (to the fastest row when the row is client-bound) · ★ winner · ≈ tie with the winner (Welch p ≥ 0.05) · ' +
  '? inconclusive: its 95% interval is wider than the target, never ranked · client-sat: the load client saturated, not ranked · ceiling: the native reference, not ranked · ' +
  '† some messages timed out · — not run (excluded by rule)';

/** Who won a row: the winners, or why none (short for the table's column, long for the line under it). */
export function winnerText(row: VerdictRow, long: boolean): string {
  if (row.winners.length > 0) return row.winners.join(' ≈ ');
  if (row.clientBound) return long ? 'no winner: the load client saturated at a rate no ranked model beat' : 'none: client-bound';
  if (row.undecided) {
    const leading = row.leading ? row.leading.join(' ≈ ') : '';
    if (!long) return `inconclusive${leading ? ` (leading: ${leading})` : ''}`;
    return `${row.undecided}${leading ? `; leading: ${leading}` : ''}`;
  }
  return long ? 'nothing ranked' : 'none ranked';
}

export function verdictTable(rows: readonly VerdictRow[], models: readonly string[], plain = false): string {
  const table = new Table({
    head: ['workload', ...models, 'winner'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const row of rows) {
    const byModel = new Map(row.cells.map((c) => [c.model, c]));
    const winner = winnerText(row, false);
    table.push([`${row.protocol === 'tcp' ? '' : `${row.protocol}/`}${row.workload}`, ...models.map((m) => verdictCellText(byModel.get(m))), winner]);
  }
  return `${table.toString()}\n${VERDICT_LEGEND}`;
}
