import { describe, it, expect } from 'vitest';
import { summarizeRecords } from '../bench/judge/aggregate.js';
import { runsToDecide, verdict } from '../bench/judge/verdict.js';
import { suiteSpread } from '../bench/judge/spread.js';
import { verdictTable, verdictCellText, winnerText } from '../bench/format/verdict.js';
import { runsOf, fakeRecord } from './helpers/records.js';
import { METRICS } from '../bench/data/metrics.js';

const options = { references: ['native-epoll'], margin: 0.1 };

function rowFor(records: ReturnType<typeof runsOf>, margin = 0.1) {
  return verdict(summarizeRecords(records), { ...options, margin })[0]!;
}

describe('verdict: decided with a margin', () => {
  it('a model clearly behind is beaten; the leader wins', () => {
    const row = rowFor([...runsOf('a', [100, 101, 99]), ...runsOf('b', [50, 51, 49])]);
    expect(row.decided).toBe(true);
    expect(row.winners).toEqual(['a']);
    const b = row.cells.find((c) => c.model === 'b')!;
    expect(b.status).toBe('beaten');
    expect(b.relative).toBeCloseTo(0.5, 2);
    expect(b.interval![1]).toBeLessThan(-0.1);
  });

  it('a tie needs the whole 90% interval within the margin: tight and close is a tie, close but wide is undecided', () => {
    const tie = rowFor([...runsOf('a', [100, 101, 99, 100]), ...runsOf('b', [98, 99, 97, 98])]);
    expect(tie.cells.find((c) => c.model === 'b')!.status).toBe('tie');
    expect(tie.decided).toBe(true);
    expect(tie.winners.sort()).toEqual(['a', 'b']);
    expect(tie.achieved).toBeLessThan(0.1);
    // Same means, but a spread that reaches past ±10 %: no evidence of a tie (Welch p ≥ 0.05 would have said "≈").
    const wide = rowFor([...runsOf('a', [100, 120, 80]), ...runsOf('b', [95, 115, 80])]);
    const b = wide.cells.find((c) => c.model === 'b')!;
    expect(b.status).toBe('undecided');
    expect(b.runsNeeded).toBeGreaterThan(0);
    expect(wide.decided).toBe(false);
    expect(wide.winners).toEqual([]);
    expect(wide.undecided).toMatch(/undecided at ±10%: b \(.*more runs each\) against a/);
    expect(wide.leading).toEqual(['a']);
    expect(verdictTable([wide], ['a', 'b'], true)).toMatch(/undecided \(leading: a\)/);
  });

  it('a wider margin decides what a narrow one cannot', () => {
    const records = [...runsOf('a', [100, 104, 96, 100]), ...runsOf('b', [96, 100, 92, 96])];
    expect(rowFor(records, 0.05).decided).toBe(false);
    expect(rowFor(records, 0.2)).toMatchObject({ decided: true });
    expect(rowFor(records, 0.2).winners.sort()).toEqual(['a', 'b']);
  });

  it('a model whose interval straddles the margin itself is decided at the narrower margin that separates the row', () => {
    const a = [100, 101, 99, 100, 100, 101, 99, 100];
    const records = [
      ...runsOf('a', a),
      ...runsOf(
        'b',
        a.map((x) => x - 1),
      ),
      ...runsOf(
        'c',
        a.map((x) => x - 10),
      ),
    ];
    const row = rowFor(records);
    const c = row.cells.find((x) => x.model === 'c')!;
    // c is 10 % behind with a tight interval: at ±10 % it is neither within nor beyond, however many runs it gets.
    expect(c.interval![0]).toBeLessThan(-0.1);
    expect(c.interval![1]).toBeGreaterThan(-0.1);
    expect(row.decided).toBe(true);
    expect(c.status).toBe('beaten');
    expect(row.winners.sort()).toEqual(['a', 'b']);
    expect(row.decidedAt).toBeLessThan(-c.interval![1]);
    expect(row.decidedAt).toBeGreaterThanOrEqual(row.achieved!);
    expect(winnerText(row, true)).toMatch(
      /^a ≈ b: equivalent within ±\d\.\d% .*every other model beaten by more than ±\d\.\d%; decided at ±\d\.\d%, inside ±10%/,
    );
    // No narrower margin separates a model whose interval reaches past zero: still undecided.
    const wide = rowFor([...runsOf('a', a), ...runsOf('b', [100, 120, 80, 95])]);
    expect(wide.decided).toBe(false);
    expect(wide.decidedAt).toBeUndefined();
  });

  it('a model provably slower than the leader by about the margin is behind: the row is decided without it', () => {
    const a = [100, 101, 99, 100, 100, 101, 99, 100];
    // b's interval is about ±5 % (tied), c's about −16 % … −4 %: slower for sure, by an amount that straddles −10 %,
    // and no narrower margin separates it from b's tie (b reaches farther from zero than c's better end).
    const records = [
      ...runsOf('a', a),
      ...runsOf('b', [108, 92, 100, 108, 92, 100, 108, 92]),
      ...runsOf('c', [78, 102, 90, 80, 100, 90, 79, 101]),
    ];
    const row = rowFor(records);
    const c = row.cells.find((x) => x.model === 'c')!;
    expect(c.interval![1]).toBeLessThan(0);
    expect(c.interval![0]).toBeLessThan(-0.1);
    expect(c.interval![1]).toBeGreaterThan(-0.1);
    expect(c.status).toBe('behind');
    expect(c.runsNeeded).toBeUndefined();
    expect(row.decided).toBe(true);
    expect(row.winners.sort()).toEqual(['a', 'b']);
    expect(winnerText(row, true)).toMatch(/c behind by \d+\.\d–\d+\.\d% \(provably slower, about the margin\)/);
    expect(verdictCellText(c)).toMatch(/↓$/);
    // An interval that also reaches past zero is not "behind": it may be no slower at all.
    const open = rowFor([...runsOf('a', a), ...runsOf('c', [75, 115, 95, 80, 110, 95])]);
    expect(open.cells.find((x) => x.model === 'c')!.status).toBe('undecided');
    expect(open.decided).toBe(false);
  });

  it('"provably slower" allows for the leader being the best of several noisy means (the winner\'s curse)', () => {
    const a = [100, 110, 90, 106, 94, 100, 108, 92];
    const c = a.map((x) => x - 7);
    // Alone with the leader, c (about −7 %, interval ≈ −13 … −1 %) is provably slower: the row is decided.
    const alone = rowFor([...runsOf('a', a), ...runsOf('c', c)]);
    expect(alone.cells.find((x) => x.model === 'c')!.slowerBelow).toBeLessThan(0);
    expect(alone.decided).toBe(true);
    // Beside three more rivals the same pair needs more: its interval widened for four comparisons reaches past zero.
    const crowd = rowFor([
      ...runsOf('a', a),
      ...runsOf('c', c),
      ...['d', 'e', 'f'].flatMap((m, i) =>
        runsOf(
          m,
          a.map((x) => x - 1 - i),
        ),
      ),
    ]);
    const judged = crowd.cells.find((x) => x.model === 'c')!;
    expect(judged.slowerBelow).toBeGreaterThan(0);
    expect(judged.status).toBe('undecided');
    expect(crowd.decided).toBe(false);
  });

  it("rivals already far behind do not make a close one pay for every comparison (Holm's step-down)", () => {
    const a = [100, 110, 90, 106, 94, 100, 108, 92];
    const c = a.map((x) => x - 7);
    // The same pair as above beside three rivals at half the leader's throughput: those are plainly slower and
    // tested first (at 5 %/4, 5 %/3, 5 %/2), so c is tested at 5 %, as if alone, and is behind.
    const far = rowFor([
      ...runsOf('a', a),
      ...runsOf('c', c),
      ...['d', 'e', 'f'].flatMap((m, i) =>
        runsOf(
          m,
          a.map((x) => x / 2 - i),
        ),
      ),
    ]);
    const judged = far.cells.find((x) => x.model === 'c')!;
    expect(judged.slowerBelow).toBeGreaterThan(0); // the Bonferroni bound alone would leave it undecided
    expect(judged.status).toBe('behind');
    expect(far.decided).toBe(true);
  });

  it('one run is never enough to judge, and an interrupted model leaves the row undecided', () => {
    const single = rowFor([...runsOf('a', [100]), ...runsOf('b', [50, 50.5, 49.5])]);
    expect(single.decided).toBe(false);
    const cut = rowFor([
      ...runsOf('a', [100, 101, 99]),
      fakeRecord({ model: 'b', msgsPerSec: 0, status: 'interrupted' }),
    ]);
    expect(cut.cells.find((c) => c.model === 'b')!.status).toBe('interrupted');
    expect(cut.winners).toEqual([]);
    expect(cut.undecided).toMatch(/b not measured \(interrupted\)/);
  });

  it('a saturated client is shown, not ranked; when it was fastest the row is client-bound and has no winner', () => {
    const row = rowFor([...runsOf('a', [100, 101, 99], { saturated: true }), ...runsOf('b', [60, 61, 59])]);
    expect(row.winners).toEqual([]);
    expect(row.cells.find((c) => c.model === 'a')!.status).toBe('saturated');
    expect(row.clientBound).toBe(true);
  });

  it('a saturated row slower than the best does not stop the best from winning', () => {
    const row = rowFor([...runsOf('a', [50, 51, 49], { saturated: true }), ...runsOf('b', [100, 101, 99])]);
    expect(row.winners).toEqual(['b']);
    expect(row.clientBound).toBe(false);
  });

  it('errored, skipped and wrong-echo cells are never ranked', () => {
    const row = rowFor([
      ...runsOf('a', [100, 100, 100], { errors: { mismatches: 3 } }),
      fakeRecord({ model: 'b', msgsPerSec: 0, status: 'errored', reason: 'crashed' }),
      fakeRecord({ model: 'c', msgsPerSec: 0, status: 'skipped', reason: 'no cc' }),
      ...runsOf('d', [10, 10.1, 9.9]),
    ]);
    const status = Object.fromEntries(row.cells.map((c) => [c.model, c.status]));
    expect(status).toEqual({ a: 'invalid', b: 'errored', c: 'skipped', d: 'winner' });
    expect(row.winners).toEqual(['d']);
  });

  it('the native ceiling is shown relative to the best Node model but never wins', () => {
    const row = rowFor([...runsOf('native-epoll', [200, 201, 199]), ...runsOf('a', [100, 101, 99])]);
    expect(row.winners).toEqual(['a']);
    const native = row.cells.find((c) => c.model === 'native-epoll')!;
    expect(native.status).toBe('ceiling');
    expect(native.relative).toBeCloseTo(2, 2);
  });

  it('a saturated reference (the driver ceiling) does not make the row client-bound', () => {
    const rows = verdict(
      summarizeRecords([
        ...runsOf('ceiling:nginx', [300, 301, 299], { saturated: true }),
        ...runsOf('a', [100, 101, 99]),
        ...runsOf('b', [50, 51, 49]),
      ]),
      {
        references: ['ceiling:nginx'],
        margin: 0.1,
      },
    );
    expect(rows[0]!.clientBound).toBe(false);
    expect(rows[0]!.winners).toEqual(['a']);
  });

  it('timeouts are marked on the cell', () => {
    const row = rowFor([...runsOf('a', [100, 100, 101]), ...runsOf('it', [10, 10, 10.1], { errors: { timeouts: 5 } })]);
    expect(verdictCellText(row.cells.find((c) => c.model === 'it'))).toMatch(/†/);
  });

  it('runs set aside for steal do not count toward a cell', () => {
    const records = [
      ...runsOf('a', [100, 101, 99]),
      { ...fakeRecord({ model: 'a', msgsPerSec: 10, run: 3 }), discarded: 'steal 30%' },
    ];
    const [cell] = summarizeRecords(records);
    expect(cell!.okRuns).toBe(3);
    expect(cell!.discardedRuns).toBe(1);
    expect(cell!.throughput.median).toBe(100);
  });

  it('nothing ranked when every contender saturated', () => {
    const row = rowFor(runsOf('a', [100, 100, 100], { saturated: true }));
    expect(row.winners).toEqual([]);
    expect(row.clientBound).toBe(true);
  });

  it('formats a matrix with one column per model, the deciding measure and the winner', () => {
    const rows = verdict(
      summarizeRecords([
        ...runsOf('a', [100, 101, 99]),
        ...runsOf('b', [50, 51, 49]),
        ...runsOf('a', [10, 11, 9], { workload: 'x' }),
      ]),
      options,
    );
    const text = verdictTable(rows, ['a', 'b'], true);
    expect(text).toMatch(/1\.00 ★/);
    expect(text).toMatch(/0\.50/);
    expect(text).toMatch(/throughput/);
    expect(text).toMatch(/—/); // b did not run workload x
    expect(text.split('\n').filter((l) => l.includes(' w ') || l.includes(' x ')).length).toBe(2);
  });
});

describe('each family is judged by its own measure', () => {
  it('open loop: p99 at the held rate decides; a model that missed the rate ranks below every model that held it', () => {
    const held = (model: string, p99: number) =>
      [0, 1, 2].map((run) =>
        fakeRecord({ model, msgsPerSec: 5000, run, rate: 5000, latencies: [p99 * 0.5, p99, p99 * 1.01] }),
      );
    const missed = [0, 1, 2].map((run) =>
      fakeRecord({ model: 'slow', msgsPerSec: 3200, run, rate: 5000, latencies: [50], errors: { timeouts: 100 } }),
    );
    const row = verdict(summarizeRecords([...held('fast', 100), ...held('laggy', 5000), ...missed]), options)[0]!;
    expect(row.decider.metric).toBe('p99');
    expect(row.winners).toEqual(['fast']);
    const status = Object.fromEntries(row.cells.map((c) => [c.model, c.status]));
    expect(status).toEqual({ fast: 'winner', laggy: 'beaten', slow: 'missed-rate' });
    expect(row.cells.find((c) => c.model === 'laggy')!.relative).toBeLessThan(0.1);
  });

  it('connect-per-request is judged on connections served per second', () => {
    const [row] = verdict(
      summarizeRecords(
        [...runsOf('a', [100, 101, 99]), ...runsOf('b', [40, 41, 39])].map((r) => ({
          ...r,
          params: { ...r.params, pattern: 'connect-per-request' },
        })),
      ),
      options,
    );
    expect(row!.decider.label).toBe('connections served per second');
  });
});

describe('aggregation', () => {
  it('merges histograms for percentiles rather than averaging them', () => {
    const records = [
      fakeRecord({ model: 'a', msgsPerSec: 1, run: 0, latencies: Array(99).fill(10) }),
      fakeRecord({ model: 'a', msgsPerSec: 1, run: 1, latencies: [10_000] }),
    ];
    const [cell] = summarizeRecords(records);
    expect(cell!.latency.count).toBe(100);
    expect(cell!.latency.p50).toBe(10);
    expect(cell!.latency.max).toBeGreaterThanOrEqual(9990);
  });

  it('sums errors, takes medians of resources and keeps run samples in order', () => {
    const [cell] = summarizeRecords([
      fakeRecord({ model: 'a', msgsPerSec: 5, run: 0, errors: { timeouts: 2 } }),
      fakeRecord({ model: 'a', msgsPerSec: 7, run: 1, errors: { timeouts: 1, resets: 4 } }),
      fakeRecord({ model: 'a', msgsPerSec: 0, run: 2, status: 'errored', reason: 'x' }),
    ]);
    expect(cell!.samples).toEqual([5, 7]);
    expect(cell!.okRuns).toBe(2);
    expect(cell!.totalRuns).toBe(3);
    expect(cell!.errors.timeouts).toBe(3);
    expect(cell!.errorTotal).toBe(7);
    expect(cell!.reasons).toEqual(['x']);
    expect(cell!.status).toBe('ok');
  });

  it('syscalls/msg is unseen (–), not 0, where a server answered without a read or without a write it could see', () => {
    const withIo = (read: number, write: number) => {
      const r = fakeRecord({ model: 'a', msgsPerSec: 1000, run: 0 });
      if (r.status === 'ok') r.server.usage!.syscalls = { read, write };
      return r;
    };
    expect(METRICS.syscallsPerMsg.ofRun(withIo(1000, 1000) as never)).toBe(2);
    // recv + send (Rust's std, CPython's sockets): nothing in syscr/syscw; send only (native-epoll): half of it.
    expect(METRICS.syscallsPerMsg.ofRun(withIo(0, 0) as never)).toBeUndefined();
    expect(METRICS.syscallsPerMsg.ofRun(withIo(1000, 0) as never)).toBeUndefined();
    // A few calls for a thousand answers, one frame in flight a connection: most of its I/O is unseen too.
    expect(METRICS.syscallsPerMsg.ofRun(withIo(7, 7) as never)).toBeUndefined();
  });
});

describe('the runs a comparison still needs', () => {
  it("a pair's spread from two runs is pooled with the suite's: two runs far apart are not priced out of the budget", () => {
    const leader = [100, 140];
    const x = [98, 102];
    const own = runsToDecide(leader, x, -0.02, 0.2, 1)!;
    const pooled = runsToDecide(leader, x, -0.02, 0.2, 1, 0.08)!;
    expect(pooled).toBeLessThan(own);
    // A suite spread wider than the pair's own makes it dearer, not cheaper: the prior pulls both ways.
    expect(runsToDecide([100, 101], [99, 100], -0.01, 0.02, 1, 0.15)!).toBeGreaterThan(
      runsToDecide([100, 101], [99, 100], -0.01, 0.02, 1)!,
    );
  });

  it("the suite's spread is the median relative SD of each deciding measure over cells with two runs or more", () => {
    const cells = summarizeRecords([
      ...runsOf('a', [100, 110]),
      ...runsOf('b', [100, 102, 98]),
      ...runsOf('c', [100]),
      ...runsOf('d', [100, 130, 70]),
    ]);
    const s = suiteSpread(cells);
    expect(s.throughput).toBeCloseTo(Math.sqrt(50) / 105, 6);
    expect(s.p99).toBeUndefined();
  });
});
