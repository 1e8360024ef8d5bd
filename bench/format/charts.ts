/**
 * Charts as Vega-Lite specs (pure functions of the cell summaries), rendered to SVG by vega in Node: per workload a
 * bar chart of throughput with its 95% interval and the latency percentile curves, and the verdict heatmap
 * (relative throughput, workloads × models).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CellSummary } from '../judge/aggregate.js';
import type { VerdictRow } from '../judge/verdict.js';
import type { CapacityRow } from '../judge/capacity.js';

export function throughputSpec(title: string, cells: readonly CellSummary[]): TopLevelSpec {
  const values = cells
    .filter((c) => c.status === 'ok' && c.okRuns > 0)
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
          color: {
            field: 'client',
            type: 'nominal',
            scale: { domain: ['server-bound', 'client-bound'], range: ['#4c78a8', '#bab0ac'] },
            title: null,
          },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } },
      },
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
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'relative',
            type: 'quantitative',
            scale: { domain: [0, 1], scheme: 'blues', clamp: true },
            title: 'relative',
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'label' },
          color: { condition: { test: 'datum.relative > 0.6', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

export { chartFile } from './chart-files.js';

/** 1, 2, 5, 10, 20, 50 … from the step at or below `low` to the first at or above `high`: even ticks for a log axis. */
export function oneTwoFive(low: number, high: number): number[] {
  if (!(low > 0) || !(high >= low)) return [];
  const ticks: number[] = [];
  for (
    let decade = 10 ** Math.floor(Math.log10(low));
    ticks.at(-1) === undefined || ticks.at(-1)! < high;
    decade *= 10
  ) {
    for (const step of [1, 2, 5]) if (ticks.at(-1) === undefined || ticks.at(-1)! < high) ticks.push(step * decade);
  }
  while (ticks.length > 1 && ticks[1]! <= low) ticks.shift();
  return ticks;
}

/** Ticks of the percentile axis, at 1/(1−p): 50 %, 90 %, 99 %, 99.9 % … (0 % sits a third of a decade left of 50 %,
 * too close to label). */
const PERCENTILE_TICKS = [2, 10, 100, 1e3, 1e4, 1e5, 1e6];

/**
 * Every model's latency percentile curve of one workload, as HdrHistogram plotters draw them: x is 1/(1−p) on a log
 * scale labelled as percentiles, so the tail gets as much room as the median; y is µs on a log scale, since models
 * differ by orders of magnitude. Client-bound rows are dashed. Models with no answered message have no curve.
 */
export function latencySpec(title: string, cells: readonly CellSummary[]): TopLevelSpec {
  const drawn = cells.filter((c) => c.status === 'ok' && c.okRuns > 0 && (c.latencyCurve?.length ?? 0) > 0);
  const values = drawn.flatMap((c) =>
    c.latencyCurve!.map((p) => ({
      model: c.model,
      x: 1 / (1 - p.percentile / 100),
      us: Math.max(1, p.us),
      bound: c.clientSaturated ? 'client-bound' : 'server-bound',
    })),
  );
  const maxX = Math.max(10, ...values.map((v) => v.x));
  const yTicks = oneTwoFive(Math.min(...values.map((v) => v.us)), Math.max(...values.map((v) => v.us)));
  const missing = cells.filter((c) => !drawn.includes(c)).map((c) => c.model);
  // A starved connection has no latency at all: say so, or a model that served one connection looks fastest.
  const starved = drawn.filter((c) => c.starved > 0).map((c) => `${c.model} ${c.starved}/${c.params.connections}`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `${title}: latency by percentile`,
      subtitle: [
        `merged HdrHistograms of every run${missing.length > 0 ? ` · no curve (nothing answered): ${missing.join(', ')}` : ''}`,
        ...(starved.length > 0 ? [`connections never answered (not in the curves): ${starved.join(', ')}`] : []),
      ],
    },
    width: 560,
    height: 340,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.6 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        scale: { type: 'log', domain: [1, maxX] },
        axis: {
          title: 'percentile',
          values: PERCENTILE_TICKS.filter((t) => t <= maxX * 1.0001),
          labelExpr: "format(100 - 100 / datum.value, '.6~g') + '%'",
        },
      },
      y: {
        field: 'us',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: {
          title: 'latency (log scale)',
          values: yTicks,
          labelExpr:
            "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' s' : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' ms' : format(datum.value, '~g') + ' µs'",
        },
      },
      color: { field: 'model', type: 'nominal', sort: drawn.map((c) => c.model), title: null },
      // Dashed client-bound curves (and their legend) only when some row was client-bound.
      ...(drawn.some((c) => c.clientSaturated)
        ? {
            strokeDash: {
              field: 'bound',
              type: 'nominal',
              scale: {
                domain: ['server-bound', 'client-bound'],
                range: [
                  [1, 0],
                  [5, 3],
                ],
              },
              title: null,
            },
          }
        : {}),
    },
  };
}

/**
 * Latency against offered load (--slo): per model its p50, p99 and p99.9 at every rate its capacity search ran
 * (medians over the step's runs), the objective as a rule, and each model's capacity (the highest rate held) as a
 * point: the knee.
 */
export function loadSpec(row: CapacityRow): TopLevelSpec {
  const names = { p50: 'p50', p99: 'p99', p999: 'p99.9' } as const;
  const values = row.cells.flatMap((c) =>
    c.steps
      .filter((s) => s.runs.length > 0)
      .flatMap((s) =>
        (Object.keys(names) as (keyof typeof names)[]).map((k) => ({
          model: c.model,
          rate: s.rate,
          us: Math.max(1, s.latency[k]),
          percentile: names[k],
        })),
      ),
  );
  const knees = row.cells.flatMap((c) => {
    const s = c.steps.find((x) => x.rate === c.result.held);
    return s ? [{ model: c.model, rate: s.rate, us: Math.max(1, s.objectiveUs) }] : [];
  });
  const all = [...values.map((v) => v.us), row.objective.limitUs];
  const yTicks = oneTwoFive(Math.min(...all), Math.max(...all));
  const y = {
    field: 'us',
    type: 'quantitative' as const,
    scale: { type: 'log' as const },
    axis: {
      title: 'latency (log scale)',
      values: yTicks,
      labelExpr:
        "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' s' : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' ms' : format(datum.value, '~g') + ' µs'",
    },
  };
  const x = { field: 'rate', type: 'quantitative' as const, title: 'offered msgs/s (open loop)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: `${row.protocol}/${row.workload}: latency against offered load`,
      subtitle: [
        `medians over each rate's runs; ● the highest rate that held ${row.objective.text}; the rule: the objective`,
      ],
    },
    width: 560,
    height: 340,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, strokeWidth: 1.4 },
        encoding: {
          x,
          y,
          color: { field: 'model', type: 'nominal', title: null },
          strokeDash: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'], title: null },
          order: { field: 'rate', type: 'quantitative' },
        },
      },
      { data: { values: [{ us: row.objective.limitUs }] }, mark: { type: 'rule', color: '#d62728' }, encoding: { y } },
      {
        data: { values: knees },
        mark: { type: 'point', filled: true, size: 90 },
        encoding: { x, y, color: { field: 'model', type: 'nominal', title: null } },
      },
    ],
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to an SVG string without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
