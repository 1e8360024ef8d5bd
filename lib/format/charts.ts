/**
 * Charts as Vega-Lite specs (pure functions of the cell summaries), rendered to SVG by vega in Node: one bar chart
 * of throughput with its 95% interval per workload, and the verdict heatmap (relative throughput, workloads × models).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CellSummary } from '../../bench/aggregate.js';
import type { VerdictRow } from '../../bench/verdict.js';

export function throughputSpec(title: string, cells: readonly CellSummary[]): TopLevelSpec {
  const values = cells
    .filter((c) => c.status === 'ok')
    .map((c) => ({
      model: c.model,
      median: c.throughput.median,
      low: Number.isFinite(c.throughput.relativeMargin) ? Math.max(0, c.throughput.low) : c.throughput.median,
      high: Number.isFinite(c.throughput.relativeMargin) ? c.throughput.high : c.throughput.median,
      client: c.clientSaturated ? 'client-bound' : 'server-bound',
    }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 480,
    data: { values },
    encoding: { y: { field: 'model', type: 'nominal', sort: null, title: null } },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: { field: 'median', type: 'quantitative', title: 'msgs/s (median, 95% CI of the mean)' },
          color: { field: 'client', type: 'nominal', scale: { domain: ['server-bound', 'client-bound'], range: ['#4c78a8', '#bab0ac'] }, title: null },
        },
      },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
    ],
  };
}

export function verdictSpec(rows: readonly VerdictRow[], models: readonly string[]): TopLevelSpec {
  const values = rows.flatMap((row) =>
    row.cells
      .filter((c) => c.relative !== undefined)
      .map((c) => ({
        workload: `${row.protocol === 'tcp' ? '' : `${row.protocol}/`}${row.workload}`,
        model: c.model,
        relative: c.relative!,
        label: `${c.relative!.toFixed(2)}${c.status === 'winner' ? ' ★' : c.status === 'tie' ? ' ≈' : c.status === 'saturated' ? ' sat' : ''}`,
      })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Throughput relative to the best model per workload',
    width: { step: 90 },
    height: { step: 24 },
    data: { values },
    encoding: {
      x: { field: 'model', type: 'nominal', sort: [...models], title: null, axis: { labelAngle: -30 } },
      y: { field: 'workload', type: 'nominal', sort: null, title: null },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'relative', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues', clamp: true }, title: 'relative' } } },
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label' }, color: { condition: { test: 'datum.relative > 0.6', value: 'white' }, value: 'black' } } },
    ],
  };
}

/** Renders a Vega-Lite spec to an SVG string without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
