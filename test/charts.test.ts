import { describe, it, expect } from 'vitest';
import { summarizeRecords } from '../bench/aggregate.js';
import { verdict } from '../bench/verdict.js';
import { renderSvg, throughputSpec, verdictSpec } from '../lib/format/charts.js';
import { recordsToCsv } from '../lib/format/csv.js';
import { runsOf } from './helpers/records.js';

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
    const rows = verdict(summarizeRecords(records), { references: [] });
    const spec = verdictSpec(rows, ['event-loop', 'cluster-rr']);
    const values = (spec.data as { values: { model: string; label: string }[] }).values;
    expect(values.map((v) => v.label)).toEqual(['1.00 ★', '0.50 sat']);
    expect(await renderSvg(spec)).toContain('cluster-rr');
  });

  it('CSV has a header and one row per record, quoting what needs it', () => {
    const csv = recordsToCsv([...records, { ...records[0]!, status: 'errored', reason: 'crashed, "badly"', result: undefined }]);
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(records.length + 2);
    expect(lines[0]).toMatch(/^suiteId,time,protocol,workload,model,run,status,reason/);
    expect(lines.at(-1)).toContain('"crashed, ""badly"""');
  });
});
