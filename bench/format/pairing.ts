/** What taking turns bought, per model against its row's leader (bench/judge/pairing.ts), as one cli-table3 table. Pure. */
import Table from 'cli-table3';
import type { PairSpread } from '../judge/pairing.js';

const pct = (sd: number | undefined): string =>
  sd === undefined || !Number.isFinite(sd) ? '–' : `${(sd * 100).toFixed(1)}%`;

export const PAIRING_NOTE =
  "spread (SD of the log ratio, ≈ % ) of each model's msgs/s over its row leader's: per window pair of a block, per block (what a paired interval narrows with), and unpaired (the two models' own run-to-run spreads combined: what an interval of runs one after the other would narrow with)";

export function pairingTable(spreads: readonly PairSpread[], plain: boolean): string {
  if (spreads.length === 0) return '';
  const table = new Table({
    head: ['workload', 'model / leader', 'blocks', 'per window pair', 'per block', 'unpaired'],
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right'],
    ...(plain ? { style: { head: [], border: [] } } : {}),
  });
  for (const s of spreads)
    table.push([
      `${s.protocol}/${s.workload}`,
      `${s.model} / ${s.leader}`,
      s.turns ? String(s.rounds) : `${s.rounds} (alone)`,
      pct(s.windowPairSd),
      pct(s.roundSd),
      pct(s.unpairedSd),
    ]);
  return `${table.toString()}\n${PAIRING_NOTE}`;
}
