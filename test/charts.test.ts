import { judgeSuite } from '../bench/judge/judgement.js';
import { describe, it, expect } from 'vitest';
import { summarizeRecords } from '../bench/judge/aggregate.js';
import { verdict } from '../bench/judge/verdict.js';
import { chartFile, latencySpec, oneTwoFive, renderSvg, throughputSpec, verdictSpec } from '../bench/format/charts.js';
import { recordsToCsv } from '../bench/format/csv.js';
import { markdownReport } from '../bench/format/markdown.js';
import { workloadTable } from '../bench/format/table.js';
import { latencyHistogram, percentileCurve } from '../clients/histogram.js';
import { fakeRecord, runsOf } from './helpers/records.js';

const records = [...runsOf('event-loop', [100, 102, 98]), ...runsOf('cluster-rr', [50, 55, 45], { saturated: true })];

describe('charts and CSV', () => {
  it('the throughput chart plots every measured model with its interval and client-bound colour', async () => {
    const spec = throughputSpec('w', summarizeRecords(records));
    const values = (spec.data as { values: { model: string; client: string; low: number; high: number }[] }).values;
    expect(values.map((v) => [v.model, v.client])).toEqual([
      ['event-loop', 'server-bound'],
      ['cluster-rr', 'client-bound'],
    ]);
    expect(values[0]!.low).toBeLessThan(100);
    expect(values[0]!.high).toBeGreaterThan(100);
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('event-loop');
  });

  it('the verdict heatmap has one cell per measured (workload, model)', async () => {
    const rows = verdict(summarizeRecords(records), { references: [], margin: 0.1 });
    const spec = verdictSpec(rows, ['event-loop', 'cluster-rr']);
    const values = (spec.data as { values: { model: string; label: string }[] }).values;
    expect(values.map((v) => v.label)).toEqual(['1.00 ★', '0.50 sat']);
    expect(await renderSvg(spec)).toContain('cluster-rr');
  });

  it('CSV has a header and one row per record, quoting what needs it', () => {
    const { schema, suiteId, time, workload, model, run, params, env } = records[0]!;
    const csv = recordsToCsv([
      ...records,
      { schema, suiteId, time, workload, model, run, params, env, status: 'errored', reason: 'crashed, "badly"' },
    ]);
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(records.length + 2);
    expect(lines[0]).toMatch(/^suiteId,time,workload,model,run,status,reason,side,protocol,connections/);
    expect(lines.at(-1)).toContain('"crashed, ""badly"""');
  });

  it('a percentile curve runs from the minimum to the maximum, evenly spaced in 1/(1−p) as HdrHistogram plots do', () => {
    const h = latencyHistogram();
    for (let v = 1; v <= 10_000; v++) h.recordValue(v);
    const curve = percentileCurve(h, 10);
    expect(curve[0]).toEqual({ percentile: 0, us: 1 });
    // 1/(1−p) = 10^(k/10) up to the sample count: 40 steps, then the end point at the maximum.
    expect(curve).toHaveLength(41);
    expect(curve[10]!.percentile).toBeCloseTo(90);
    expect(curve[20]!.percentile).toBeCloseTo(99);
    expect(curve.at(-1)).toEqual({ percentile: 100 * (1 - 1 / 10_000), us: 10_000 });
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]!.percentile).toBeGreaterThan(curve[i - 1]!.percentile);
      expect(curve[i]!.us).toBeGreaterThanOrEqual(curve[i - 1]!.us);
    }
    const one = latencyHistogram();
    one.recordValue(42);
    expect(percentileCurve(one)).toEqual([{ percentile: 0, us: 42 }]);
    expect(percentileCurve(latencyHistogram())).toEqual([]);
  });

  it('the latency chart draws one curve per answered model on a log percentile axis, and names the rest', async () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => 100 + i);
    const cells = summarizeRecords([
      ...runsOf('event-loop', [100, 110], { latencies }),
      ...runsOf('piscina', [50, 55], { latencies: latencies.map((v) => v * 3), saturated: true }),
      fakeRecord({ model: 'fork-per-connection', msgsPerSec: 0, status: 'errored', reason: 'nothing' }),
    ]);
    expect(cells[0]!.latencyCurve!.at(-1)).toEqual({ percentile: 100 * (1 - 1 / 2000), us: 1099 });
    const spec = latencySpec('tcp/echo', cells);
    const values = (spec.data as { values: { model: string; x: number; us: number; bound: string }[] }).values;
    expect([...new Set(values.map((v) => `${v.model} ${v.bound}`))]).toEqual([
      'event-loop server-bound',
      'piscina client-bound',
    ]);
    expect(values[0]).toEqual({ model: 'event-loop', x: 1, us: 100, bound: 'server-bound' });
    expect(Math.max(...values.map((v) => v.x))).toBeCloseTo(2000);
    expect(JSON.stringify(spec.title)).toContain('no curve (nothing answered): fork-per-connection');
    const svg = await renderSvg(spec);
    for (const label of ['0%', '90%', '99%', '99.9%', 'piscina', 'µs', 'client-bound']) expect(svg).toContain(label);
    const noneClientBound = await renderSvg(
      latencySpec(
        'tcp/echo',
        cells.filter((c) => !c.clientSaturated),
      ),
    );
    expect(noneClientBound).not.toContain('client-bound');
  });

  it('log-axis ticks step 1-2-5 across the data; report.md links each workload’s charts', () => {
    expect(oneTwoFive(23, 1400)).toEqual([20, 50, 100, 200, 500, 1000, 2000]);
    expect(oneTwoFive(100, 100)).toEqual([100]);
    expect(oneTwoFive(0, 5)).toEqual([]);
    expect(chartFile('latency', 'tcp/echo')).toBe('charts/latency-tcp_echo.svg');
    const md = markdownReport(judgeSuite(records, { margin: 0.2 }));
    expect(md).toContain('![tcp/w latency by percentile](charts/latency-tcp_w.svg)');
    expect(md).toContain('![tcp/w throughput](charts/throughput-tcp_w.svg)');
  });

  it('a cell that was only counted shows its counts and "–" where a timed run would give latency and throughput', () => {
    const table = workloadTable(
      'tcp/w',
      summarizeRecords([fakeRecord({ model: 'event-loop', msgsPerSec: 0, instructionsPerMsg: 13_000 })]),
      0.2,
      true,
    );
    const row = table.split('\n').find((l) => l.includes('event-loop'))!;
    const header = table.split('\n').find((l) => l.includes('p50'))!;
    const cells = (l: string): string[] => l.split('│').map((x) => x.trim());
    const at = (name: string): string => cells(row)[cells(header).findIndex((h) => h.startsWith(name))]!;
    expect(at('instructions/msg')).toBe('13.0k');
    for (const column of ['p50', 'p99', 'p99.9']) expect(at(column), column).toBe('–');
  });
});
