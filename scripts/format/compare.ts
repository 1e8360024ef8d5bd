/** The baseline comparison table. Pure. */
import Table from 'cli-table3';
import type { CompareReport } from '../../bench/compare.js';
import { formatRate } from './units.js';

export function compareTable(report: CompareReport, thresholdPercent: number, plain = false): string {
  const relative = report.basis.startsWith('throughput relative');
  const value = (v: number): string => (!Number.isFinite(v) ? '–' : relative ? v.toFixed(3) : formatRate(v));
  const table = new Table({
    head: ['cell', 'baseline', 'current', 'change', 'p (Welch)', 'verdict'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'left'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const r of report.rows) {
    table.push([
      r.key,
      value(r.baseline),
      value(r.current),
      Number.isFinite(r.change) ? `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%` : '–',
      Number.isFinite(r.pValue) ? r.pValue.toFixed(3) : '–',
      r.verdict === 'regression' ? 'REGRESSION' : r.verdict,
    ]);
  }
  const summary =
    report.regressions.length === 0
      ? `no regression (a regression is a significant drop of more than ${thresholdPercent}%)`
      : `${report.regressions.length} regression(s): ${report.regressions.map((r) => r.key).join(', ')}`;
  return `compared: ${report.basis}\n${table.toString()}\n${summary}`;
}
