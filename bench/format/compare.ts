/** The baseline comparison as a terminal table and as Markdown (the CI job summary). Pure. */
import Table from 'cli-table3';
import { COUNT_THRESHOLDS, METRICS, type CompareReport, type CompareRow } from '../judge/compare.js';

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
import { formatRate } from '../../lib/format/units.js';

function value(r: CompareRow, v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (r.metric === 'throughput') return r.normalized ? `${v.toFixed(3)}×` : formatRate(v);
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function changeText(r: CompareRow): string {
  if (!Number.isFinite(r.change)) return '–';
  return Number.isFinite(r.changeLow)
    ? `${signed(r.change)} [${signed(r.changeLow)}, ${signed(r.changeHigh)}]`
    : signed(r.change);
}

function verdictText(r: CompareRow): string {
  if (r.informational) {
    const reports = METRICS[r.metric].inGate === 'reports';
    return `${r.verdict === 'regression' ? (reports ? 'more' : 'slower') : r.verdict} (${reports ? '' : 'timing: '}report only)`;
  }
  if (r.verdict === 'regression') return 'REGRESSION';
  if (r.verdict === 'inconclusive') return r.gating ? 'INCONCLUSIVE' : 'inconclusive (CPU µs/msg decided)';
  if (r.verdict === 'unstable') return 'unstable (not gated)';
  return r.verdict;
}

function cells(r: CompareRow): string[] {
  return [
    r.key,
    METRICS[r.metric].label,
    value(r, r.baseline),
    value(r, r.current),
    changeText(r),
    Number.isFinite(r.pValue) ? r.pValue.toFixed(3) : '–',
    r.paired !== undefined ? `${r.paired} pairs` : `${r.nBaseline}/${r.nCurrent}`,
    verdictText(r),
  ];
}

/** The metrics whose undecided rows a decided server CPU µs/msg passes, and those only reported (METRICS' inGate). */
const labelsOf = (role: 'defers' | 'reports'): string =>
  Object.values(METRICS)
    .filter((m) => m.inGate === role)
    .map((m) => m.label)
    .join(', ');

const HEAD = ['cell', 'metric', 'baseline', 'current', 'change [95% CI]', 'p', 'runs', 'verdict'];

/** Lines under the table: what was compared how, what could not be, and the gate's decision. */
function notes(report: CompareReport, thresholdPercent: number, decision: string): string[] {
  const lines = [
    `compared per run: server CPU µs/msg (lower is better), ${report.basis} (higher is better), p99 of open-loop cells (lower is better), ` +
      `and per message the counts (instructions under callgrind, read+write syscalls, context switches); ` +
      `a timing regression is a significant change (p < 0.05: Welch's test, or a paired t-test on the ratio where the two sides ran as blocks, "N pairs") for the worse by more than ${thresholdPercent}%, a count's is a growth beyond its own threshold ` +
      `(instructions ${pct(COUNT_THRESHOLDS.instructionsPerMsg!.relative)}, syscalls ${pct(COUNT_THRESHOLDS.syscallsPerMsg!.relative)}); ` +
      `a cell with instruction counts on both sides is decided by its counts (timing: report only), otherwise one whose CPU µs/msg is unchanged passes even where its ${labelsOf('defers')} are too noisy to decide; ${labelsOf('reports')}: report only`,
  ];
  for (const w of report.environmentWarnings) lines.push(`⚠ ${w}`);
  const missing = new Set(report.rows.filter((r) => r.verdict === 'missing').map((r) => r.key)).size;
  const fresh = new Set(report.rows.filter((r) => r.verdict === 'new').map((r) => r.key)).size;
  if (missing > 0)
    lines.push(`⚠ ${missing} baseline cell(s) were not measured this time (missing): they were not checked`);
  if (fresh > 0) lines.push(`${fresh} cell(s) have no baseline yet (new)`);
  for (const d of report.dropped) lines.push(`not compared: ${d.key} ${METRICS[d.metric].label}: ${d.reason}`);
  for (const r of report.rows.filter((x) => x.verdict === 'inconclusive')) {
    lines.push(
      `inconclusive${r.gating ? '' : " (not gating: the cell's CPU µs/msg is unchanged)"}: ${r.key} ${METRICS[r.metric].label}: ${r.note}`,
    );
  }
  for (const r of report.unstable) lines.push(`unstable: ${r.key} ${METRICS[r.metric].label}: ${r.note}`);
  lines.push(decision);
  return lines;
}

export function compareTable(report: CompareReport, thresholdPercent: number, decision: string, plain = false): string {
  const table = new Table({
    head: HEAD,
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'left'],
    style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
  });
  for (const r of report.rows) table.push(cells(r));
  return [table.toString(), ...notes(report, thresholdPercent, decision)].join('\n');
}

export function compareMarkdown(report: CompareReport, thresholdPercent: number, decision: string): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => ' --- ').join('|')}|`];
  for (const r of report.rows) {
    const c = cells(r).map(esc);
    if (r.verdict === 'regression' || r.verdict === 'inconclusive') c[7] = `**${c[7]}**`;
    lines.push(`| ${c.join(' | ')} |`);
  }
  return [...lines, '', ...notes(report, thresholdPercent, decision).map((n) => `- ${n}`)].join('\n') + '\n';
}
