/**
 * report.html: one self-contained page per suite, a pure function of what the other formatters get (cell summaries,
 * verdict rows, the runs, the cost model and comparison texts) plus the vega runtime's source, which is inlined so the
 * page opens with no network. Charts are Vega-Lite specs compiled here and drawn in the page by vega (tooltips on
 * every point); the tables share the terminal's and Markdown's columns; a little script sorts and filters them.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CellSummary } from '../judge/aggregate.js';
import type { VerdictRow } from '../judge/verdict.js';
import type { CompareReport } from '../judge/compare.js';
import type { RunRecord } from '../data/record.js';
import { columnsFor, groupByWorkload, describeParams } from './table.js';
import { latencySpec, loadSpec } from './charts.js';
import { CAPACITY_NOTE, capacityHeadline, capacityTable, capacityTitle } from './capacity.js';
import { METRICS } from '../data/metrics.js';
import { verdictLines, winnerText } from './verdict.js';
import { costModelText } from './cost-model.js';
import type { SuiteJudgement } from '../judge/judgement.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The anchor of a workload's section: what a verdict cell links to. */
export function workloadAnchor(protocol: string, workload: string): string {
  return `w-${protocol}-${workload}`.replace(/[^\w-]/g, '_');
}

/** Every run of a workload's cells as a point: where each run landed, counted or set aside. */
export function runsSpec(title: string, runs: readonly RunRecord[]): TopLevelSpec {
  const values = runs.flatMap((r) => {
    if (r.status !== 'ok' || r.counts !== undefined) return [];
    const cpu = METRICS.cpuPerMsg.ofRun(r);
    return [
      {
        model: r.model,
        run: r.run + 1,
        msgsPerSec: r.result.msgsPerSec,
        cpuUsPerMsg: cpu !== undefined ? Number(cpu.toFixed(2)) : null,
        kind: r.discarded ? 'set aside' : r.result.client.saturated ? 'client-bound' : 'counted',
        why: r.discarded ?? '',
        ...(r.side ? { side: r.side } : {}),
      },
    ];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    data: { values },
    mark: { type: 'point', filled: true, size: 60, opacity: 0.75 },
    encoding: {
      y: { field: 'model', type: 'nominal', sort: null, title: null },
      x: { field: 'msgsPerSec', type: 'quantitative', title: 'msgs/s, one point per run' },
      yOffset: { field: 'kind', type: 'nominal' },
      color: {
        field: 'kind',
        type: 'nominal',
        scale: { domain: ['counted', 'set aside', 'client-bound'], range: ['#4c78a8', '#e45756', '#bab0ac'] },
        title: null,
      },
      shape: values.some((v) => 'side' in v) ? { field: 'side', type: 'nominal', title: null } : { value: 'circle' },
      tooltip: [
        { field: 'model' },
        { field: 'run' },
        ...(values.some((v) => 'side' in v) ? [{ field: 'side' }] : []),
        { field: 'msgsPerSec', title: 'msgs/s', format: ',.0f' },
        { field: 'cpuUsPerMsg', title: 'server CPU µs/msg' },
        { field: 'kind' },
        { field: 'why', title: 'set aside because' },
      ],
    },
  };
}

function verdictHeatmap(rows: readonly VerdictRow[], models: readonly string[]): string {
  const mark: Partial<Record<string, string>> = {
    winner: ' ★',
    tie: ' ≈',
    behind: ' ↓',
    undecided: ' ?',
    saturated: ' client-sat',
    ceiling: ' ceiling',
    'missed-rate': ' missed rate',
  };
  // The answer first (winner, then what decided it), so it is seen without scrolling past ten model columns.
  const head = `<tr><th>workload</th><th>winner</th><th>decided by</th>${models.map((m) => `<th>${esc(m)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => {
    const href = `#${workloadAnchor(row.protocol, row.workload)}`;
    const cells = models.map((m) => {
      const c = row.cells.find((x) => x.model === m);
      if (!c) return '<td class="na">—</td>';
      const rel = c.relative;
      // Blues by relative performance: the leader darkest; text flips to white on dark cells.
      const shade = rel === undefined ? 0 : Math.max(0, Math.min(1, rel));
      const style =
        rel === undefined
          ? ''
          : ` style="background: hsl(210 60% ${Math.round(95 - 55 * shade)}%); color: ${shade > 0.6 ? 'white' : 'black'}"`;
      const interval = c.interval
        ? ` · 90% interval ${(c.interval[0] * 100).toFixed(1)}% … ${(c.interval[1] * 100).toFixed(1)}%`
        : '';
      const title = `${m}: ${c.status}${interval}${c.runsNeeded !== undefined ? ` · ~${c.runsNeeded} more runs each` : ''}`;
      return `<td class="v ${c.status}"${style} title="${esc(title)}"><a href="${href}">${rel !== undefined ? rel.toFixed(2) : c.status}${esc(rel !== undefined ? (mark[c.status] ?? '') : '')}</a></td>`;
    });
    return `<tr><th><a href="${href}">${esc(row.protocol === 'tcp' ? row.workload : `${row.protocol}/${row.workload}`)}</a></th><td class="winner">${esc(winnerText(row, false))}</td><td>${esc(row.decider.label)}</td>${cells.join('')}</tr>`;
  });
  return `<table class="verdict">${head}${body.join('')}</table>`;
}

/** A Vega-Lite spec compiled to the Vega spec the page draws (its $schema is a name, never fetched; dropped). */
function vegaSpec(spec: TopLevelSpec): object {
  const { $schema: _schema, ...compiled } = compile(spec).spec;
  return compiled;
}

function workloadSection(
  key: string,
  cells: readonly CellSummary[],
  runs: readonly RunRecord[],
  charts: Map<string, object>,
): string {
  const first = cells[0]!;
  const anchor = workloadAnchor(first.params.protocol, first.workload);
  const { columns, ctx } = columnsFor('markdown', cells);
  const head = columns
    .map((col, i) => `<th data-col="${i}" title="${esc(col.describe)}">${esc(col.header(ctx))}</th>`)
    .join('');
  const body = cells
    .map((c) => {
      const tds =
        c.status === 'ok' && (c.okRuns > 0 || c.countedRuns > 0)
          ? columns.map((col) => `<td class="${col.align}">${esc(col.cell(c, ctx))}</td>`).join('')
          : `<td>${esc(c.model)}</td><td colspan="${columns.length - 1}">${esc(c.status === 'ok' ? `every run set aside: ${c.setAsideReasons[0] ?? ''}` : `${c.status}: ${c.reasons.join('; ')}`)}</td>`;
      return `<tr data-model="${esc(c.model)}" data-driver="${esc(c.params.driver)}">${tds}</tr>`;
    })
    .join('');
  const drivers = [...new Set(cells.map((c) => c.params.driver))];
  const runsId = `${anchor}-runs`;
  const latencyId = `${anchor}-latency`;
  const cellRuns = runs.filter((r) => `${r.params.protocol}/${r.workload}` === key);
  // A counted-only suite has no timed run: nothing to draw (an empty chart's scales are infinite).
  const timed = cellRuns.some((r) => r.status === 'ok' && r.counts === undefined);
  if (timed) {
    charts.set(runsId, vegaSpec(runsSpec(`${key}: every run`, cellRuns)));
    charts.set(latencyId, vegaSpec(latencySpec(`${key}: latency percentiles`, cells)));
  }
  return `<section id="${anchor}" class="workload">
<h2>${esc(key)}</h2>
<p class="params">${esc(describeParams(first))}</p>
<div class="filters">filter models <input type="search" class="model-filter" placeholder="e.g. cluster"> driver <select class="driver-filter"><option value="">any</option>${drivers.map((d) => `<option>${esc(d)}</option>`).join('')}</select> <span class="shown"></span></div>
<table class="cells sortable"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>
${timed ? `<div class="charts"><div class="chart" id="${runsId}"></div><div class="chart" id="${latencyId}"></div></div>` : '<p>counted only: no timed runs to chart</p>'}
</section>`;
}

function comparisonSection(c: { heading: string; decision: string; report: CompareReport }): string {
  const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : '–');
  const rows = c.report.rows.map((r) => {
    const m = METRICS[r.metric];
    const fmt = (v: number): string => (r.normalized ? `${v.toFixed(3)}×` : m.format(v));
    const gating = r.informational
      ? 'report only'
      : r.verdict === 'inconclusive' && r.gating === false
        ? 'not gating'
        : '';
    return `<tr data-model="${esc(r.model)}" class="${esc(r.verdict)}"><td>${esc(r.workload)}</td><td>${esc(r.model)}</td><td>${esc(m.label)}</td><td class="right">${esc(fmt(r.baseline))} (${r.nBaseline})</td><td class="right">${esc(fmt(r.current))} (${r.nCurrent})</td><td class="right">${pct(r.change)}</td><td class="right">${Number.isFinite(r.changeLow) ? `${pct(r.changeLow)} … ${pct(r.changeHigh)}` : '–'}</td><td>${esc(r.verdict)}${gating ? ` (${gating})` : ''}</td><td>${esc(r.note ?? '')}</td></tr>`;
  });
  return `<section id="comparison"><h2>${esc(c.heading)}</h2><p class="decision ${c.decision.startsWith('PASS') ? 'pass' : 'fail'}">${esc(c.decision)}</p>
<div class="filters">filter models <input type="search" class="model-filter"> <span class="shown"></span></div>
<table class="cells sortable"><thead><tr><th>workload</th><th>model</th><th>metric</th><th>base (runs)</th><th>head (runs)</th><th>change</th><th>95% interval</th><th>decision</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 6px;white-space:nowrap}th{background:#f4f4f4}
td.right{text-align:right}table.sortable th{cursor:pointer}table.sortable th.asc::after{content:" ▲"}table.sortable th.desc::after{content:" ▼"}
table.verdict td.v a{color:inherit;text-decoration:none;display:block}table.verdict td.undecided{outline:2px dashed #e45756}
.env td{white-space:normal}.charts{display:flex;flex-wrap:wrap;gap:1em}pre{background:#f8f8f8;padding:.6em;overflow:auto}pre.why{white-space:pre-wrap}
.decision.fail{color:#b00;font-weight:bold}.decision.pass{color:#070;font-weight:bold}tr.regression td{background:#fde2e2}
.filters{margin:.4em 0;color:#555}nav a{margin-right:1em}`;

/** The page's own behaviour: draw every chart, sort a table by a header, filter rows by model and driver. */
const SCRIPT = `(() => {
  const specs = JSON.parse(document.getElementById('conbench-charts').textContent);
  for (const [id, spec] of Object.entries(specs)) {
    const el = document.getElementById(id);
    if (!el) continue;
    new vega.View(vega.parse(spec), { renderer: 'svg', container: el, hover: true }).runAsync().catch((e) => { el.textContent = 'chart failed: ' + e.message; console.error(e); });
  }
  const units = { k: 1e3, M: 1e6, ms: 1e3, s: 1e6, KiB: 1024, MiB: 1048576, GiB: 1073741824, '%': 1 };
  const key = (text) => { const m = /^([-+]?[0-9.]+)\\s*([a-zA-Z%]*)/.exec(text.trim()); return m ? parseFloat(m[1]) * (units[m[2]] || 1) : NaN; };
  for (const table of document.querySelectorAll('table.sortable')) {
    table.querySelectorAll('th').forEach((th, col) => th.addEventListener('click', () => {
      const asc = !th.classList.contains('asc');
      table.querySelectorAll('th').forEach((h) => h.classList.remove('asc', 'desc'));
      th.classList.add(asc ? 'asc' : 'desc');
      const body = table.tBodies[0];
      const rows = [...body.rows].sort((a, b) => {
        const x = a.cells[col] ? a.cells[col].textContent : '', y = b.cells[col] ? b.cells[col].textContent : '';
        const kx = key(x), ky = key(y);
        const d = Number.isNaN(kx) || Number.isNaN(ky) ? x.localeCompare(y) : kx - ky;
        return asc ? d : -d;
      });
      rows.forEach((r) => body.appendChild(r));
    }));
  }
  for (const section of document.querySelectorAll('section')) {
    const text = section.querySelector('.model-filter'), driver = section.querySelector('.driver-filter'), shown = section.querySelector('.shown');
    if (!text) continue;
    const apply = () => {
      const rows = [...section.querySelectorAll('table.cells tbody tr')];
      let n = 0;
      for (const r of rows) {
        const ok = r.dataset.model.includes(text.value.trim()) && (!driver || !driver.value || r.dataset.driver === driver.value);
        r.hidden = !ok; if (ok) n++;
      }
      shown.textContent = n + ' of ' + rows.length + ' rows';
    };
    text.addEventListener('input', apply); if (driver) driver.addEventListener('change', apply); apply();
  }
})();`;

/** The whole page. `vegaSource` is vega's browser build (node_modules/vega/build/vega.min.js), inlined as is. */
export function htmlReport(j: SuiteJudgement, vegaSource: string): string {
  const input = {
    title: `conbench ${j.suiteId}`,
    env: j.env,
    split: j.split,
    cells: j.cells,
    rows: j.rows,
    models: j.models,
    runs: j.records,
    verdictText: `${verdictLines(j)}${j.stopNote ? `\n\n${j.stopNote}` : ''}`,
    costModel: costModelText(j, true),
    ...(j.gate
      ? { comparison: { heading: j.gate.heading, decision: j.gate.result.decision, report: j.gate.result.report } }
      : {}),
  };
  const charts = new Map<string, object>();
  const sections = [...groupByWorkload(input.cells)].map(([key, group]) =>
    workloadSection(key, group, input.runs, charts),
  );
  // --slo: per workload the capacities and the latency-vs-load curve.
  const capacitySections = j.capacity.map((row) => {
    const id = `load-${workloadAnchor(row.protocol, row.workload)}`;
    charts.set(id, vegaSpec(loadSpec(row)));
    return `<section id="capacity-${workloadAnchor(row.protocol, row.workload)}"><h2>${esc(`${row.protocol}/${row.workload}: ${capacityTitle(row)}`)}</h2>
<p>${esc(capacityHeadline(row))}</p><pre>${esc(capacityTable(row))}</pre><div class="chart" id="${id}"></div><p>${esc(CAPACITY_NOTE)}</p></section>`;
  });
  const e = input.env;
  const env: [string, string][] = [
    ['CPU', `${e.cpuModel} × ${e.cores}`],
    ['OS', e.os],
    ['Node', e.node],
    ['commit', `${e.gitCommit}${e.gitDirty ? ' (uncommitted changes)' : ''}`],
    ['machine', e.hostname],
    ['first run', input.runs[0]?.time ?? '–'],
    ['CPU split', input.split],
  ];
  // JSON inside <script type="application/json">: only "</" could end it early.
  const chartJson = JSON.stringify(Object.fromEntries(charts)).replace(/<\//g, '<\\/');
  const nav = [
    ['verdict', '#verdict'],
    ...(input.comparison ? [['comparison', '#comparison']] : []),
    ...[...groupByWorkload(input.cells)].map(([key, g]) => [
      key,
      `#${workloadAnchor(g[0]!.params.protocol, g[0]!.workload)}`,
    ]),
    ['cost model', '#cost-model'],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(input.title)}</h1>
<nav>${nav.map(([t, h]) => `<a href="${h}">${esc(t!)}</a>`).join('')}</nav>
<table class="env">${env.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<section id="verdict"><h2>Verdict</h2>
${verdictHeatmap(input.rows, input.models)}
<pre class="why">${esc(input.verdictText)}</pre></section>
${input.comparison ? comparisonSection(input.comparison) : ''}
${sections.join('\n')}
${capacitySections.join('\n')}
<section id="cost-model"><h2>Cost model</h2><pre>${esc(input.costModel)}</pre></section>
<script type="application/json" id="conbench-charts">${chartJson}</script>
<script>${vegaSource.replace(/<\/script/gi, '<\\/script')}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
