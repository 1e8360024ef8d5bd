/**
 * Models taking turns: the schedule of a block, and the verdict judging two models on the ratio within each block.
 * The statistics are checked on simulated suites (seeded): a machine whose speed moves 20 % from block to block,
 * the ratio of two servers within a block only 2–3 %, as measured here (docs/method.md).
 */
import { describe, it, expect } from 'vitest';
import { turnOrder } from '../bench/run/run-block.js';
import { summarizeRecords } from '../bench/judge/aggregate.js';
import { deciderFor, pairsOf, verdictRow } from '../bench/judge/verdict.js';
import { pairSpreads } from '../bench/judge/pairing.js';
import { fakeRecord } from './helpers/records.js';
import type { RunRecord } from '../bench/data/record.js';

/** A seeded standard normal (mulberry32, Box–Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface Simulated {
  blocks: number;
  /** x's true throughput over the leader's. */
  ratio: number;
  /** The machine's speed from block to block (SD of its log). */
  machineSd: number;
  /** What stays of the noise in one server's run beside another's in the same block (SD of the log). */
  serverSd: number;
  seed: number;
  /** Took turns (a block's machine speed is both runs'), or ran alone (each run its own machine speed). */
  turns: boolean;
}

function simulate(s: Simulated): RunRecord[] {
  const n = normals(s.seed);
  const out: RunRecord[] = [];
  for (let b = 0; b < s.blocks; b++) {
    const machine = Math.exp(s.machineSd * n());
    for (const [model, truth] of [
      ['lead', 100_000],
      ['x', 100_000 * s.ratio],
    ] as const) {
      const speed = s.turns ? machine : Math.exp(s.machineSd * n());
      const msgsPerSec = truth * speed * Math.exp(s.serverSd * n());
      out.push(fakeRecord({ model, msgsPerSec, run: b, ...(s.turns ? { turnRound: b } : {}) }));
    }
  }
  return out;
}

const judge = (records: RunRecord[], margin: number) => {
  const row = verdictRow(summarizeRecords(records), { references: [], margin });
  return { row, x: row.cells.find((c) => c.status !== 'winner')! };
};

describe("a block's schedule with more than two models", () => {
  it('every member measures once a cycle, each cycle the last reversed, every other one starting further on', () => {
    expect(turnOrder(4, 3)).toEqual([0, 1, 2, 2, 1, 0, 1, 2, 0, 0, 2, 1]);
    const order = turnOrder(7, 5);
    for (let m = 0; m < 5; m++) expect(order.filter((i) => i === m)).toHaveLength(7);
    expect(turnOrder(4)).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
  });
});

describe('the verdict on models that took turns: the ratio within each block', () => {
  const base = { blocks: 6, machineSd: 0.2, serverSd: 0.02, seed: 7 };

  it('the same model under two names ties at ±5 % from 6 blocks, though its runs spread 20 %', () => {
    const { x } = judge(simulate({ ...base, ratio: 1, turns: true }), 0.05);
    expect(x).toMatchObject({ status: 'tie', paired: 6 });
    // The same runs measured alone (each its own machine speed): nothing can be said at ±5 %.
    const alone = judge(simulate({ ...base, ratio: 1, turns: false }), 0.05).x;
    expect(alone.status).toBe('undecided');
    expect(alone.paired).toBeUndefined();
  });

  it('a model 8 % slower is ranked behind the leader, its interval containing the 8 %', () => {
    const { x } = judge(simulate({ ...base, ratio: 0.92, turns: true }), 0.05);
    expect(['beaten', 'behind']).toContain(x.status);
    expect(x.interval![0]).toBeLessThan(-0.08);
    expect(x.interval![1]).toBeGreaterThan(-0.08);
  });

  it('its 90 % interval covers the true ratio in about 90 % of suites (300 simulated)', () => {
    let covered = 0;
    const trials = 300;
    for (let seed = 1; seed <= trials; seed++) {
      const { x } = judge(simulate({ ...base, ratio: 0.92, serverSd: 0.03, seed, turns: true }), 0.05);
      if (x.interval && x.interval[0] <= -0.08 && -0.08 <= x.interval[1]) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.85);
    expect(covered / trials).toBeLessThan(0.95);
  });

  it('pairs only the blocks both took turns in; fewer than two such blocks: compared unpaired', () => {
    const records = simulate({ ...base, ratio: 1, turns: true });
    const alone = fakeRecord({ model: 'x', msgsPerSec: 50_000, run: 9 });
    const cells = summarizeRecords([...records, alone]);
    const [lead, x] = [cells.find((c) => c.model === 'lead')!, cells.find((c) => c.model === 'x')!];
    expect(pairsOf(lead, x, deciderFor(x))?.x).toHaveLength(6);
    expect(pairsOf(lead, x, deciderFor(x))?.x).not.toContain(50_000);
    const one = summarizeRecords(simulate({ ...base, blocks: 1, ratio: 1, turns: true }));
    expect(pairsOf(one[0]!, one[1]!, deciderFor(one[0]!))).toBeUndefined();
  });

  it('says what taking turns removed: the ratio per block spreads far less than the runs unpaired', () => {
    const [spread] = pairSpreads(simulate({ ...base, ratio: 1, turns: true }), [
      { protocol: 'tcp', workload: 'w', leader: 'lead' },
    ]);
    expect(spread).toMatchObject({ model: 'x', leader: 'lead', rounds: 6, turns: true });
    expect(spread!.roundSd).toBeLessThan(0.05);
    expect(spread!.unpairedSd).toBeGreaterThan(0.15);
  });
});
