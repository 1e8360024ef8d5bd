/** The Markdown report of a suite: environment, one table per workload, the verdict. Pure. */
import { pairingTable } from './pairing.js';
import { CAPACITY_NOTE, capacityHeadline, capacityTable, capacityTitle } from './capacity.js';
import { chartFile } from './chart-files.js';
import type { SuiteJudgement } from '../judge/judgement.js';
import { verdictReport } from './verdict.js';
import { columnsFor, describeParams, groupByWorkload, STEAL_WARN_PERCENT } from './table.js';

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

export function markdownReport(j: SuiteJudgement): string {
  const { env, split, cells } = j;
  const title = `conbench ${j.suiteId}`;
  const verdict = verdictReport(j, true);
  const out: string[] = [
    `# ${title}`,
    '',
    `Node ${env.node} · ${env.cpuModel} · ${env.cores} CPUs · ${env.os} · commit ${env.gitCommit}${env.gitDirty ? ' (dirty)' : ''}`,
    '',
    `CPU split: ${split}`,
    '',
  ];
  for (const [workload, group] of groupByWorkload(cells)) {
    out.push(`## ${workload}`, '', describeParams(group[0]!), '');
    const { columns, ctx } = columnsFor('markdown', group);
    out.push(row(columns.map((col) => col.header(ctx))));
    out.push(row(columns.map(() => '---')));
    for (const c of group) {
      if (c.status !== 'ok' || (c.okRuns === 0 && c.countedRuns === 0)) {
        const why =
          c.status !== 'ok'
            ? `${c.status}: ${c.reasons.join('; ')}`
            : `every run set aside: ${c.setAsideReasons[0] ?? ''}`;
        out.push(row([c.model, '', String(c.totalRuns), why, ...columns.slice(4).map(() => '')]));
        continue;
      }
      out.push(row(columns.map((col) => col.cell(c, ctx))));
    }
    const notes: string[] = [];
    if (group.some((c) => c.latencyResolution === 'ms'))
      notes.push('Latency from autocannon: whole-millisecond resolution.');
    const steal = Math.max(...group.map((c) => (Number.isFinite(c.hostStealPercent) ? c.hostStealPercent : 0)));
    if (steal >= STEAL_WARN_PERCENT)
      notes.push(
        `⚠ Contended host: the hypervisor took up to ${steal.toFixed(0)}% of the CPU time (steal) during these runs.`,
      );
    if (group.some((c) => c.clientSaturated))
      notes.push(
        '⚠ saturated: the load client, not the server, set the pace of that row (client CPU ≥ 90 %, or within 20 % of the driver ceiling).',
      );
    if (group.some((c) => c.status === 'ok' && !c.conclusive))
      notes.push(
        `? undecided: its comparison with the row's leader is not settled at ±${+(j.margin * 100).toFixed(1)}% (see the verdict).`,
      );
    out.push('', ...notes.flatMap((n) => [n, '']));
    out.push(
      `![${workload} throughput](${chartFile('throughput', workload)}) ![${workload} latency by percentile](${chartFile('latency', workload)})`,
      '',
    );
  }
  out.push('## Verdict', '', '```', verdict, '```', '');
  for (const r of j.capacity)
    out.push(
      `## ${r.protocol}/${r.workload}: ${capacityTitle(r)}`,
      '',
      capacityHeadline(r),
      '',
      '```',
      capacityTable(r),
      '```',
      '',
      `![${r.workload} latency against offered load](${chartFile('load', `${r.protocol}/${r.workload}`)})`,
      '',
    );
  if (j.capacity.length > 0) out.push(CAPACITY_NOTE, '');
  const pairing = pairingTable(j.pairing, true);
  if (pairing) out.push('## Taking turns', '', '```', pairing, '```', '');
  return out.join('\n');
}
