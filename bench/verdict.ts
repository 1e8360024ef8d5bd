/**
 * "Which model wins where": for every workload, each model's throughput relative to the best model in that row.
 * Only runs that measured the server can win: a cell whose client saturated is shown as such, not ranked; cells
 * that errored, were skipped, or echoed wrong bytes are not ranked either. A model whose runs are not
 * significantly different from the best (Welch's t-test, p ≥ 0.05) ties with it. The native ceiling is a
 * reference row: shown relative to the best Node model, never the winner.
 */
import type { CellSummary } from './aggregate.js';
import { compareSamples } from './stats.js';

export type VerdictStatus = 'winner' | 'tie' | 'ranked' | 'saturated' | 'errored' | 'skipped' | 'invalid' | 'ceiling';

export interface VerdictCell {
  model: string;
  status: VerdictStatus;
  /** Median throughput relative to the row's best ranked model. */
  relative?: number;
  /** Welch's p-value against the best (ranked cells). */
  pValue?: number;
  /** Some messages timed out (the model kept clients waiting). */
  timeouts: boolean;
}

export interface VerdictRow {
  workload: string;
  protocol: string;
  cells: VerdictCell[];
  /** The best model and those that tie with it. Empty when nothing could be ranked. */
  winners: string[];
  /** A saturated cell went at least as fast as the best ranked one: the client, not the servers, set the limit. */
  clientBound: boolean;
}

export interface VerdictOptions {
  /** Models that are references (the native ceiling), not contenders. */
  references: readonly string[];
  alpha?: number;
}

function rankable(c: CellSummary): boolean {
  return c.status === 'ok' && !c.clientSaturated && c.errors.mismatches === 0 && c.okRuns > 0;
}

export function verdictRow(cells: readonly CellSummary[], options: VerdictOptions): VerdictRow {
  const first = cells[0]!;
  const isReference = (c: CellSummary): boolean => options.references.includes(c.model);
  const contenders = cells.filter((c) => rankable(c) && !isReference(c));
  const best = contenders.reduce<CellSummary | undefined>((b, c) => (!b || c.throughput.median > b.throughput.median ? c : b), undefined);
  const measured = cells.filter((c) => c.status === 'ok' && c.okRuns > 0);
  const fastest = measured.reduce<CellSummary | undefined>((b, c) => (!b || c.throughput.median > b.throughput.median ? c : b), undefined);
  // A saturated row at least as fast as the best ranked one: the client, not the servers, set the limit, so no
  // model can be said to have won this row.
  // (A reference row such as the driver ceiling is saturated by design and says nothing about the contenders.)
  const clientBound = cells.some((c) => !isReference(c) && c.clientSaturated && c.status === 'ok' && (!best || c.throughput.median >= best.throughput.median * 0.95));
  // Relative to the best ranked model; in a client-bound row (or with none ranked), to the fastest measured cell.
  const norm = clientBound || !best ? fastest : best;
  const out: VerdictCell[] = cells.map((c) => {
    const relative = norm && norm.throughput.median > 0 && c.status === 'ok' && c.okRuns > 0 ? c.throughput.median / norm.throughput.median : undefined;
    const common = { model: c.model, timeouts: c.errors.timeouts > 0, ...(relative !== undefined ? { relative } : {}) };
    if (c.status === 'skipped') return { ...common, status: 'skipped' };
    if (c.status !== 'ok' || c.okRuns === 0) return { ...common, status: 'errored' };
    if (c.errors.mismatches > 0) return { ...common, status: 'invalid' };
    if (c.clientSaturated) return { ...common, status: 'saturated' };
    if (isReference(c)) return { ...common, status: 'ceiling' };
    if (c === best) return { ...common, status: 'winner' };
    const test = compareSamples(best!.samples, c.samples, options.alpha);
    const tie = test.test === 'welch-t' ? !test.significant : false;
    return { ...common, status: tie ? 'tie' : 'ranked', ...(Number.isFinite(test.pValue) ? { pValue: test.pValue } : {}) };
  });
  if (clientBound) for (const c of out) if (c.status === 'winner' || c.status === 'tie') c.status = 'ranked';
  const winners = out.filter((c) => c.status === 'winner' || c.status === 'tie').map((c) => c.model);
  return { workload: first.workload, protocol: first.params.protocol, cells: out, winners, clientBound };
}

/** One row per workload, in the order the cells first appear. */
export function verdict(cells: readonly CellSummary[], options: VerdictOptions): VerdictRow[] {
  const rows = new Map<string, CellSummary[]>();
  for (const c of cells) {
    const key = `${c.params.protocol}/${c.workload}`;
    rows.set(key, [...(rows.get(key) ?? []), c]);
  }
  return [...rows.values()].map((group) => verdictRow(group, options));
}
