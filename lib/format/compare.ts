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
  const lines = [`compared: ${report.basis}`, table.toString()];
  const missing = report.rows.filter((r) => r.verdict === 'missing').length;
  const fresh = report.rows.filter((r) => r.verdict === 'new').length;
  if (missing > 0) lines.push(`⚠ ${missing} baseline cell(s) were not measured this time (missing): they were not checked`);
  if (fresh > 0) lines.push(`${fresh} cell(s) have no baseline yet (new)`);
  for (const d of report.dropped) lines.push(`not compared: ${d.key}: ${d.reason}`);
  if (report.compared === 0) lines.push('⚠ nothing was compared: no cell is comparable in both suites');
  else if (report.regressions.length === 0) lines.push(`no regression in ${report.compared} compared cell(s) (a regression is a significant drop of more than ${thresholdPercent}%)`);
  else lines.push(`${report.regressions.length} regression(s): ${report.regressions.map((r) => r.key).join(', ')}`);
  return lines.join('\n');
}
