/**
 * What `npm run bench` and `npm run report` print, a pure function of the suite's judgement. The first screen: the
 * verdict first, one line a workload (the winner or tie group, the margin, the runner-up's gap), then a compact table
 * per workload (model, msgs/s ± CI, p99, CPU µs/msg, its place and any trouble in one column), then the why — fitted
 * to a terminal's width, and unwrapped for a pipe. `--wide` prints every column, the verdict matrix, the cost model
 * and the gate's whole table, as report.md and report.html hold them.
 */
import Table from 'cli-table3';
import type { CellSummary } from '../judge/aggregate.js';
import type { JudgedRow, SuiteJudgement } from '../judge/judgement.js';
import type { VerdictCell } from '../judge/verdict.js';
import { formatCpuPerMsg, METRICS } from '../data/metrics.js';
import { isCeiling } from '../data/record.js';
import { formatMicros } from '../../lib/format/units.js';
import { wrap } from '../../lib/format/wrap.js';
import { BORDERLESS, trimTable } from './borderless.js';
import {
  describeParams,
  errorsCell,
  groupByWorkload,
  instructionsCell,
  metricCell,
  throughputCell,
  workloadTable,
} from './table.js';
import { verdictReport, winnerText } from './verdict.js';
import { costModelText } from './cost-model.js';
import { compareTable } from './compare.js';
import { pairingTable } from './pairing.js';
import { CAPACITY_NOTE, capacityHeading, capacityHeadline, capacityTable, capacityTitle } from './capacity.js';

export interface TerminalOptions {
  /** No colour codes (files, pipes). */
  plain: boolean;
  /** The terminal's columns; undefined: not a terminal, nothing wrapped. */
  width?: number;
  /** Every column, the verdict matrix, the cost model, the gate's table. */
  wide: boolean;
}

const pct = (x: number): string => `${+(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/** One line for a workload: who won, at what margin, and how far behind the next model is. */
export function verdictHeadline(row: JudgedRow): string {
  const winners = row.decided ? row.winners : (row.leading ?? []);
  const margin = row.decidedAt ?? row.margin;
  const rest = row.cells
    .filter(
      (c) =>
        !winners.includes(c.model) &&
        c.relative !== undefined &&
        ['beaten', 'behind', 'undecided', 'missed-rate'].includes(c.status),
    )
    .sort((a, b) => b.relative! - a.relative!);
  const next = rest[0] ? `; next: ${rest[0].model} at ${rest[0].relative!.toFixed(2)}` : '';
  if (row.decided) {
    const who = winners.length === 1 ? `${winners[0]} wins` : `${winners.join(' ≈ ')} tie`;
    return `${who} (±${pct(margin)} on ${row.decider.label})${next}`;
  }
  const pending = row.cells.filter((c) => c.status === 'undecided');
  if (winners.length > 0 && pending.length > 0) {
    const more = Math.max(...pending.map((c) => c.runsNeeded ?? 0));
    return `undecided at ±${pct(margin)}: ${winners.join(' ≈ ')} lead${winners.length === 1 ? 's' : ''}; ${pending.map((c) => c.model).join(', ')} not yet placed${more > 0 ? ` (~${more} more run${more === 1 ? '' : 's'})` : ''}`;
  }
  return winnerText(row, false) + (row.undecided ? ` — ${row.undecided.split(':')[0]}` : '');
}

/** A model's place in its row and anything wrong with its runs, in one short column. */
function placeCell(v: VerdictCell | undefined, c: CellSummary): string {
  const parts: string[] = [];
  if (v) {
    const rel = v.relative !== undefined ? v.relative.toFixed(2) : '';
    const mark: Partial<Record<VerdictCell['status'], string>> = {
      winner: '★',
      tie: '≈',
      behind: '↓',
      undecided: '?',
      saturated: 'client-bound',
      ceiling: 'ceiling',
      invalid: 'WRONG BYTES',
      'missed-rate': 'missed rate',
    };
    parts.push([mark[v.status], rel].filter(Boolean).join(' '));
  }
  if (c.status !== 'ok') parts.push(`${c.status}: ${c.reasons[0] ?? ''}`);
  else if (c.okRuns === 0 && c.countedRuns === 0) parts.push(`every run set aside`);
  const trouble = errorsCell(c);
  if (trouble !== '0') parts.push(trouble);
  return parts.filter(Boolean).join(' · ');
}

/** The compact table of one workload: it fits a terminal; the rest is in --wide and the reports. */
function compactTable(cells: readonly CellSummary[], row: JudgedRow | undefined, width: number | undefined): string {
  const byModel = new Map(row?.cells.map((v) => [v.model, v]));
  const timed = (c: CellSummary): boolean => c.status === 'ok' && c.okRuns > 0;
  // Counted only (--skip-timing): what was counted, not three columns of dashes.
  const countedOnly = cells.every((c) => c.okRuns === 0) && cells.some((c) => c.countedRuns > 0);
  const measured: [string, (c: CellSummary) => string][] = countedOnly
    ? [
        [METRICS.instructionsPerMsg.column!, instructionsCell],
        [METRICS.syscallsPerMsg.column!, metricCell('syscallsPerMsg')],
        [METRICS.ctxSwitchesPerMsg.column!, metricCell('ctxSwitchesPerMsg')],
      ]
    : [
        ['msgs/s ±95%', (c) => (timed(c) ? throughputCell(c) : '–')],
        ['p99 µs', (c) => (timed(c) ? formatMicros(c.latency.p99) : '–')],
        [METRICS.cpuPerMsg.column!, (c) => (timed(c) ? formatCpuPerMsg(c.serverCpuUsPerMsg) : '–')],
      ];
  const rows = cells.map((c) => [
    isCeiling(c.model) ? `${c.model} (GET)` : c.model,
    ...measured.map(([, cell]) => cell(c)),
    placeCell(byModel.get(c.model), c),
  ]);
  const head = ['model', ...measured.map(([h]) => h), 'place'];
  const widths = head.slice(0, 4).map((h, i) => Math.max([...h].length, ...rows.map((r) => [...r[i]!].length)) + 2);
  const used = widths.reduce((a, b) => a + b, 0) + 2;
  const last =
    width !== undefined ? Math.max(12, width - used) : Math.max(5, ...rows.map((r) => [...r[4]!].length)) + 2;
  const table = new Table({
    head,
    colWidths: [...widths, last],
    colAligns: ['left', 'right', 'right', 'right', 'left'],
    wordWrap: true,
    ...BORDERLESS,
  });
  table.push(...rows);
  // Each model's place: ★ the leader, ≈ tied with it, ↓ provably slower by about the margin, ? undecided, a plain
  // number beaten by more; the number is its throughput (open loop: p99) relative to the leader's.
  return trimTable(table.toString());
}

/** The first screen: the verdict, a compact table a workload, the why. */
function compactReport(j: SuiteJudgement, o: TerminalOptions): string {
  const w = o.width;
  const rowOf = (key: string): JudgedRow | undefined => j.rows.find((r) => `${r.protocol}/${r.workload}` === key);
  const names = j.rows.map((r) => (r.protocol === 'tcp' ? r.workload : `${r.protocol}/${r.workload}`));
  const pad = Math.max(...names.map((n) => n.length));
  const verdict = [
    wrap(
      `Verdict: which model wins each workload here, at ±${pct(j.margin)} (90% intervals${j.rows.some((r) => r.cells.some((c) => c.paired !== undefined)) ? '; paired: models took turns' : ''})`,
      w,
      '  ',
    ),
    ...j.rows.map((r, i) => wrap(`  ${names[i]!.padEnd(pad)}  ${verdictHeadline(r)}`, w, ' '.repeat(pad + 4))),
  ];
  const capacityLines =
    j.capacity.length > 0
      ? [
          '',
          wrap(capacityHeading(j.capacity), w, '  '),
          ...j.capacity.map((r) =>
            wrap(
              `  ${(r.protocol === 'tcp' ? r.workload : `${r.protocol}/${r.workload}`).padEnd(pad)}  ${capacityHeadline(r)}`,
              w,
              ' '.repeat(pad + 4),
            ),
          ),
        ]
      : [];
  const tables = [
    ...[...groupByWorkload(j.cells)].map(([key, group]) =>
      [wrap(`${key}: ${describeParams(group[0]!)}`, w, '  '), compactTable(group, rowOf(key), w)].join('\n'),
    ),
    ...j.capacity.map((r) => `${r.protocol}/${r.workload}: ${capacityTitle(r)}\n${capacityTable(r)}`),
  ];
  const why = j.rows.flatMap((r) => [
    wrap(`  ${r.workload}: ${winnerText(r, true)}`, w, '      '),
    ...(r.why ? [wrap(`    why: ${r.why}`, w, '      ')] : []),
    ...(r.predicted ? [wrap(`    predicted: ${r.predicted}`, w, '      ')] : []),
  ]);
  const gate = j.gate ? [`${j.gate.heading}: ${j.gate.result.decision}`] : [];
  const stop = j.stopNote ? [wrap(j.stopNote, w, '  ')] : [];
  const legend = wrap(
    `place: ★ the leader · ≈ tied within ±${pct(j.margin)} · ↓ provably slower, by about the margin · ? undecided · a plain number: beaten by more; the number: its deciding measure relative to the leader's`,
    w,
  );
  const more = wrap(
    'Every column (p50, p99.9, server CPU, syscalls, context switches, memory, client CPU, errors), the verdict matrix, the cost model and the gate table: --wide, report.md, report.html.',
    w,
  );
  return (
    [
      ...verdict,
      ...capacityLines,
      '',
      ...tables.flatMap((t) => [t, '']),
      legend,
      '',
      'Why',
      ...why,
      '',
      ...gate.map((g) => wrap(g, w)),
      ...stop,
      ...(gate.length + stop.length > 0 ? [''] : []),
      more,
    ].join('\n') + '\n'
  );
}

/** Everything: the old full screen (every column, the verdict matrix, cost model, gate table). */
function wideReport(j: SuiteJudgement, plain: boolean): string {
  const tables = [...groupByWorkload(j.cells)]
    .map(([name, group]) => workloadTable(name, group, j.margin, plain))
    .join('\n\n');
  const gate = j.gate
    ? `\n\n${j.gate.heading}\n${compareTable(j.gate.result.report, j.gate.thresholdPercent, j.gate.result.decision, plain)}`
    : '';
  const pairing = pairingTable(j.pairing, plain);
  const capacity = j.capacity
    .map((r) => `${r.protocol}/${r.workload}: ${capacityTitle(r)}\n  ${capacityHeadline(r)}\n${capacityTable(r)}`)
    .join('\n\n');
  return `${tables}\n\nCPU split — ${j.split}\n\nVerdict\n${verdictReport(j, plain)}\n\n${capacity ? `${capacity}\n${CAPACITY_NOTE}\n\n` : ''}${pairing ? `Taking turns\n${pairing}\n\n` : ''}${costModelText(j, plain)}${gate}\n`;
}

export function terminalReport(j: SuiteJudgement, o: TerminalOptions): string {
  return o.wide ? wideReport(j, o.plain) : compactReport(j, o);
}
