/**
 * What taking turns bought: for each model of a row against the row's leader, the spread of their throughput ratio
 * per window pair (the two servers' windows of one cycle of a block), per block (their runs of one round), and,
 * beside it, what the same two would spread compared unpaired (each model's own run-to-run spread, combined as
 * independent runs combine). A paired comparison's interval narrows with the block spread; an unpaired one's with
 * the unpaired figure: their ratio is how much more runs unpaired would need (its square). Pure.
 */
import type { OkRecord, RunRecord } from '../data/record.js';
import { sampleStandardDeviation } from '../data/stats.js';
import { timedRuns } from './aggregate.js';

export interface PairSpread {
  protocol: string;
  workload: string;
  /** The row's leader, the reference of the ratio. */
  leader: string;
  model: string;
  /** Rounds with a run of both (blocks, when they took turns). */
  rounds: number;
  /** Whether the two took turns in blocks (false: each run alone, fresh servers one after the other). */
  turns: boolean;
  /** SD of log(model / leader) over window pairs (the windows of one cycle of a block); undefined without turns. */
  windowPairSd?: number;
  /** SD of log(model / leader) over rounds (their runs of one round). */
  roundSd: number;
  /** sqrt(sd(log model)² + sd(log leader)²) over their runs: the ratio's spread were the runs independent. */
  unpairedSd: number;
}

const sdOfLogs = (xs: readonly number[]): number => sampleStandardDeviation(xs.filter((x) => x > 0).map(Math.log));

/** The spreads of every model of each row against the row's leader (rows and leaders as the verdict named them). */
export function pairSpreads(
  records: readonly RunRecord[],
  leaders: readonly { protocol: string; workload: string; leader: string }[],
): PairSpread[] {
  const ok = timedRuns(records).filter((r) => r.side === undefined || r.side === 'head');
  return leaders.flatMap(({ protocol, workload, leader }) => {
    const row = ok.filter((r) => r.workload === workload && r.params.protocol === protocol && r.round !== undefined);
    const byModel = new Map<string, Map<number, OkRecord>>();
    for (const r of row) byModel.set(r.model, (byModel.get(r.model) ?? new Map()).set(r.round!, r));
    const reference = byModel.get(leader);
    if (!reference) return [];
    return [...byModel]
      .filter(([model]) => model !== leader)
      .flatMap(([model, runs]) => {
        const rounds = [...runs.keys()].filter((k) => reference.has(k));
        if (rounds.length < 2) return [];
        const pairs = rounds.map((k) => [reference.get(k)!, runs.get(k)!] as const);
        const turns = pairs.every(([a, b]) => a.block?.members !== undefined && b.block?.members !== undefined);
        const windowRatios = turns
          ? pairs.flatMap(([a, b]) =>
              (b.block!.rates ?? []).flatMap((rate, i) => {
                const ref = a.block!.rates?.[i];
                return ref !== undefined && ref > 0 && rate > 0 ? [Math.log(rate / ref)] : [];
              }),
            )
          : [];
        const spread: PairSpread = {
          protocol,
          workload,
          leader,
          model,
          rounds: rounds.length,
          turns,
          roundSd: sampleStandardDeviation(
            pairs.map(([a, b]) => Math.log(b.result.msgsPerSec / a.result.msgsPerSec)).filter(Number.isFinite),
          ),
          unpairedSd: Math.hypot(
            sdOfLogs([...runs.values()].map((r) => r.result.msgsPerSec)),
            sdOfLogs([...reference.values()].map((r) => r.result.msgsPerSec)),
          ),
        };
        if (windowRatios.length >= 2) spread.windowPairSd = sampleStandardDeviation(windowRatios);
        return [spread];
      });
  });
}
