/** The verdict matrix: rows workloads, columns models, each cell against the row's leader. Pure. */
import Table from 'cli-table3';
import type { VerdictCell, VerdictRow } from '../judge/verdict.js';
import type { SuiteJudgement } from '../judge/judgement.js';
import { formatCpuPerMsg } from '../data/metrics.js';

const MARK: Record<VerdictCell['status'], string> = {
  winner: '★',
  tie: '≈',
  beaten: '',
  behind: '↓',
  undecided: '?',
  'missed-rate': 'missed rate',
  saturated: 'client-sat',
  errored: 'error',
  skipped: 'skipped',
  interrupted: 'interrupted',
  unmeasured: 'counts only',
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
    case 'behind':
    case 'undecided':
      return `${rel} ${MARK[c.status]}${dagger}`.trim();
    case 'beaten':
      return `${rel}${dagger}`;
    case 'saturated':
    case 'ceiling':
    case 'missed-rate':
      return `${rel} ${MARK[c.status]}${dagger}`.trim();
    default:
      return MARK[c.status];
  }
}

export function verdictLegend(margin: number): string {
  const m = `${(margin * 100).toFixed(0)}%`;
  return (
    `each model's deciding measure relative to the row's leader (1.00; throughput, or for open-loop rows the leader's p99 ÷ this model's) · ★ leader · ` +
    `≈ tied with it: the 90% interval of the difference lies within ±${m} (TOST) · plain: beaten by more than ${m} · ↓ behind: provably slower, by about ${m} (its interval straddles −${m} but not 0) · ? undecided: the interval reaches past 0 and past ±${m} · ` +
    `missed rate: an open-loop model that did not hold the rate, ranked below those that did · client-sat: the load client saturated, not ranked · ` +
    `ceiling: the native reference, not ranked · † some messages timed out · — not run (excluded by rule)`
  );
}

/** Who won a row: the winner and its ties, or why none (short for the table's column, long for the line under it). */
export function winnerText(row: VerdictRow, long: boolean): string {
  const m =
    row.decidedAt !== undefined ? `±${(row.decidedAt * 100).toFixed(1)}%` : `±${(row.margin * 100).toFixed(0)}%`;
  if (row.decided) {
    const narrower =
      row.decidedAt !== undefined && long
        ? `; decided at ${m}, inside ±${(row.margin * 100).toFixed(0)}%, where a model's interval straddled ±${(row.margin * 100).toFixed(0)}% itself`
        : '';
    const behind = row.cells.filter((c) => c.status === 'behind' && c.interval);
    const others =
      behind.length > 0
        ? `; ${behind.map((c) => `${c.model} behind by ${(-c.interval![1] * 100).toFixed(1)}–${(-c.interval![0] * 100).toFixed(1)}%`).join(', ')} (provably slower, about the margin); every other model beaten by more than ${m}`
        : `; every other model beaten by more than ${m}`;
    if (row.winners.length === 1)
      return long ? `${row.winners[0]} wins (${row.decider.label}${others}${narrower})` : row.winners[0]!;
    const achieved =
      row.achieved !== undefined ? ` (the widest 90% interval reached ±${(row.achieved * 100).toFixed(1)}%)` : '';
    return long
      ? `${row.winners.join(' ≈ ')}: equivalent within ${m}${achieved} on ${row.decider.label}${others}${narrower}`
      : `${row.winners.join(' ≈ ')} (${m})`;
  }
  if (row.clientBound)
    return long ? 'no winner: the load client saturated at a rate no ranked model beat' : 'none: client-bound';
  if (row.undecided) {
    const leading = row.leading ? row.leading.join(' ≈ ') : '';
    if (!long) return `undecided${leading ? ` (leading: ${leading})` : ''}`;
    return `${row.undecided}${leading ? `; leading: ${leading}` : ''}`;
  }
  return long ? 'nothing ranked' : 'none ranked';
}

export function verdictTable(rows: readonly VerdictRow[], models: readonly string[], plain = false): string {
  const table = new Table({
    head: ['workload', ...models, 'decided by', 'winner'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const row of rows) {
    const byModel = new Map(row.cells.map((c) => [c.model, c]));
    table.push([
      `${row.protocol === 'tcp' ? '' : `${row.protocol}/`}${row.workload}`,
      ...models.map((m) => verdictCellText(byModel.get(m))),
      row.decider.label,
      winnerText(row, false),
    ]);
  }
  return `${table.toString()}\n${verdictLegend(rows[0]?.margin ?? 0.1)}`;
}

/** Per workload: who won (or what is undecided), why, and what the designs predict. */
export function verdictLines(j: Pick<SuiteJudgement, 'rows'>): string {
  return j.rows
    .map((row) => {
      // When the client set the pace, the servers' CPU cost per message still tells them apart.
      const cost =
        row.cheapest && row.cheapest.length > 0
          ? `; server CPU µs per message, cheapest first: ${row.cheapest.map((c) => `${c.model} ${formatCpuPerMsg(c.cpuUsPerMsg)}`).join(', ')}`
          : '';
      return `  ${row.workload}: ${winnerText(row, true)}${cost}${row.why ? `\n    why: ${row.why}` : ''}${row.predicted ? `\n    predicted: ${row.predicted}` : ''}`;
    })
    .join('\n');
}

/** The verdict matrix, then one line per workload, then why the suite stopped early (if it did). */
export function verdictReport(j: Pick<SuiteJudgement, 'rows' | 'models' | 'stopNote'>, plain = false): string {
  return `${verdictTable(j.rows, j.models, plain)}\n${verdictLines(j)}${j.stopNote ? `\n\n${j.stopNote}` : ''}`;
}
