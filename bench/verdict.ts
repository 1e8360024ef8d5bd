/**
 * "Which model wins where": for every workload, each model's throughput relative to the best model in that row.
 * Only runs that measured the server can win: a cell whose client saturated is shown as such, not ranked; cells
 * that errored, were skipped or interrupted, or echoed wrong bytes are not ranked either. Only a conclusive cell
 * (its interval within the suite's target) can win or tie: an inconclusive one is shown as such, and if its interval
 * reaches the best cell's, or a model of the row was not measured, the row names no winner ("inconclusive") rather
 * than a guess. A conclusive model whose runs are not significantly different from the best (Welch's t-test,
 * p ≥ 0.05) ties with it. The native ceiling is a reference row: shown relative to the best Node model, never the
 * winner.
 */
import type { CellSummary } from './aggregate.js';
import { compareSamples } from './stats.js';

export type VerdictStatus = 'winner' | 'tie' | 'ranked' | 'inconclusive' | 'saturated' | 'errored' | 'skipped' | 'interrupted' | 'invalid' | 'ceiling';

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
  /** Why no winner can be named although cells were measured (an inconclusive or unmeasured cell may be the best). */
  undecided?: string;
  /** In an undecided row: the best conclusive model and those that tie with it (what would have won). */
  leading?: string[];
}

export interface VerdictOptions {
  /** Models that are references (the native ceiling), not contenders. */
  references: readonly string[];
  alpha?: number;
}

function rankable(c: CellSummary): boolean {
  return c.status === 'ok' && !c.clientSaturated && c.errors.mismatches === 0 && c.okRuns > 0;
}

function fastestOf(cells: readonly CellSummary[]): CellSummary | undefined {
  return cells.reduce<CellSummary | undefined>((b, c) => (!b || c.throughput.median > b.throughput.median ? c : b), undefined);
}

/** An inconclusive cell could be the best: its interval (or, with one run, its value) reaches the best's. */
function mayBeat(c: CellSummary, best: CellSummary | undefined): boolean {
  if (!best) return true;
  const high = Number.isFinite(c.throughput.high) ? c.throughput.high : c.throughput.median;
  const low = Number.isFinite(best.throughput.low) ? best.throughput.low : best.throughput.median;
  return high >= low;
}

export function verdictRow(cells: readonly CellSummary[], options: VerdictOptions): VerdictRow {
  const first = cells[0]!;
  const isReference = (c: CellSummary): boolean => options.references.includes(c.model);
  const contenders = cells.filter((c) => rankable(c) && !isReference(c));
  const best = fastestOf(contenders.filter((c) => c.conclusive));
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
    if (c.status === 'interrupted') return { ...common, status: 'interrupted' };
    if (c.status !== 'ok' || c.okRuns === 0) return { ...common, status: 'errored' };
    if (c.errors.mismatches > 0) return { ...common, status: 'invalid' };
    if (c.clientSaturated) return { ...common, status: 'saturated' };
    if (isReference(c)) return { ...common, status: 'ceiling' };
    if (!c.conclusive) return { ...common, status: 'inconclusive' };
    if (c === best) return { ...common, status: 'winner' };
    const test = compareSamples(best!.samples, c.samples, options.alpha);
    const tie = test.test === 'welch-t' ? !test.significant : false;
    return { ...common, status: tie ? 'tie' : 'ranked', ...(Number.isFinite(test.pValue) ? { pValue: test.pValue } : {}) };
  });
  // No winner by noise: a contender too wide to rank, or one not measured at all, may be the real best.
  const open = contenders.filter((c) => !c.conclusive && mayBeat(c, best)).map((c) => `${c.model} ±${formatMargin(c)}`);
  const unmeasured = cells.filter((c) => !isReference(c) && (c.status === 'interrupted' || (c.status === 'ok' && c.okRuns === 0))).map((c) => c.model);
  let undecided: string | undefined;
  if (!clientBound && open.length > 0) undecided = `inconclusive: ${open.join(', ')} ${open.length > 1 ? 'are' : 'is'} too wide to rank against the leaders and may be the best`;
  else if (!clientBound && unmeasured.length > 0) undecided = `inconclusive: ${unmeasured.join(', ')} not measured (interrupted)`;
  const leading = undecided ? out.filter((c) => c.status === 'winner' || c.status === 'tie').map((c) => c.model) : [];
  if (clientBound || undecided) for (const c of out) if (c.status === 'winner' || c.status === 'tie') c.status = 'ranked';
  const winners = out.filter((c) => c.status === 'winner' || c.status === 'tie').map((c) => c.model);
  return {
    workload: first.workload,
    protocol: first.params.protocol,
    cells: out,
    winners,
    clientBound,
    ...(undecided ? { undecided } : {}),
    ...(leading.length > 0 ? { leading } : {}),
  };
}

function formatMargin(c: CellSummary): string {
  const m = c.throughput.relativeMargin;
  return Number.isFinite(m) ? `${(m * 100).toFixed(0)}%` : '? (one run)';
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
