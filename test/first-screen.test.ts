/**
 * The first screen: the verdict first, one line a workload; a compact table per workload; every line within the
 * terminal's width, and nothing wrapped for a pipe. summary.json carries the verdict, versioned.
 */
import { describe, it, expect } from 'vitest';
import { judgeSuite } from '../bench/judge/judgement.js';
import { terminalReport } from '../bench/format/terminal.js';
import { SUMMARY_SCHEMA, summaryJson } from '../bench/format/summary.js';
import { fakeRecord } from './helpers/records.js';
import type { RunRecord } from '../bench/data/record.js';

/** Two workloads, four models: a decided tie on echo, a single winner on cpu, a starved model, an undecided one. */
function suite(): RunRecord[] {
  const out: RunRecord[] = [];
  const rates: Record<string, Record<string, number[]>> = {
    echo: {
      'event-loop': [100, 101, 99, 100],
      'cluster-rr': [101, 100, 100, 99],
      iterative: [10, 11, 10, 9],
      piscina: [60, 62, 61, 60],
    },
    cpu: {
      'event-loop': [50, 52, 49, 51],
      'cluster-rr': [100, 99, 101, 100],
      iterative: [40, 70, 20, 90],
      piscina: [45, 44, 46, 45],
    },
  };
  for (const [workload, models] of Object.entries(rates))
    for (const [model, rs] of Object.entries(models))
      for (const [run, msgsPerSec] of rs.entries())
        out.push(fakeRecord({ workload, model, msgsPerSec, run, turnRound: run }));
  return out;
}

const chars = (s: string): number => [...s].length;

describe('the first screen', () => {
  const j = judgeSuite(suite(), { margin: 0.2 });

  it('starts with the verdict, one line a workload, and fits 100 and 120 columns', () => {
    for (const width of [100, 120, 80]) {
      const text = terminalReport(j, { plain: true, width, wide: false });
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^Verdict: which model wins each workload here, at ±20%/);
      // One header line where it fits (100 and 120 columns); wrapped, never cut, at 80.
      expect(lines.findIndex((l) => /^ {2}echo {2}/.test(l))).toBe(width >= 100 ? 1 : 2);
      expect(text).toMatch(/event-loop ≈ cluster-rr tie \(±20% on throughput\); next: piscina at 0\.6/);
      expect(text).toMatch(/cluster-rr wins/);
      for (const line of lines) expect(chars(line), line).toBeLessThanOrEqual(width);
    }
  });

  it('counted only (--skip-timing): the table shows what was counted, not columns of dashes', () => {
    const counted = ['event-loop', 'py-selectors'].flatMap((model, i) =>
      [0, 1, 2].map((run) => fakeRecord({ model, msgsPerSec: 100, run, instructionsPerMsg: 13_000 + 4_000 * i + run })),
    );
    const text = terminalReport(judgeSuite(counted, { margin: 0.05 }), { plain: true, width: 100, wide: false });
    expect(text, text).toMatch(/model +instructions\/msg +syscalls\/msg +ctx sw\/msg +place/);
    expect(text).toMatch(/event-loop +13\.0k ±0\.0%/);
    expect(text).toMatch(/py-selectors +17\.0k ±0\.0%/);
  });

  it('to a pipe: the same lines in the same order, none wrapped', () => {
    const piped = terminalReport(j, { plain: true, wide: false });
    const narrow = terminalReport(j, { plain: true, wide: false, width: 60 });
    expect(piped.split('\n').length).toBeLessThan(narrow.split('\n').length);
    expect(piped.replace(/\s+/g, ' ')).toBe(narrow.replace(/\s+/g, ' '));
  });

  it('--wide: every column and the verdict matrix', () => {
    const wide = terminalReport(j, { plain: true, wide: true });
    expect(wide).toMatch(/p99\.9 µs/);
    expect(wide).toMatch(/syscalls\/msg/);
    expect(wide).toMatch(/decided by/);
  });
});

describe('summary.json carries the verdict', () => {
  it('versioned; each row its status, winners, measure and margin; each model its class and interval', () => {
    const s = JSON.parse(summaryJson(judgeSuite(suite(), { margin: 0.2 }))) as {
      schema: number;
      margin: number;
      verdict: {
        workload: string;
        status: string;
        winners: string[];
        decidedBy: { metric: string };
        models: { model: string; class: string; interval: [number, number] | null; relative: number | null }[];
      }[];
    };
    expect(s.schema).toBe(SUMMARY_SCHEMA);
    expect(s.margin).toBe(0.2);
    const echo = s.verdict.find((r) => r.workload === 'echo')!;
    expect(echo).toMatchObject({ status: 'decided', decidedBy: { metric: 'throughput' } });
    expect(new Set(echo.winners)).toEqual(new Set(['event-loop', 'cluster-rr']));
    const byModel = Object.fromEntries(echo.models.map((m) => [m.model, m]));
    expect(byModel.iterative!.class).toBe('beaten');
    expect(byModel.iterative!.interval![1]).toBeLessThan(-0.2);
    expect(['winner', 'tied']).toContain(byModel['event-loop']!.class);
    const cpu = s.verdict.find((r) => r.workload === 'cpu')!;
    expect(cpu.winners).toEqual(['cluster-rr']);
  });
});
