/** Capacity at a latency objective (bench/judge/capacity.ts) for people: a headline a workload and a table. Pure. */
import Table from 'cli-table3';
import type { CapacityCell, CapacityResult, CapacityRow } from '../judge/capacity.js';
import { wrap } from '../../lib/format/wrap.js';
import { formatLatency, formatRate } from '../../lib/format/units.js';
import { BORDERLESS, trimTable } from './borderless.js';

const pct = (x: number): string => `${+(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/**
 * "48.1k–49.0k", "4.20k–(4.24k–4.89k)–4.96k" (undecided inside), "≥ 130k (driver-bound)", "< 2.0k", "–"; the ends
 * widened by the machine's drift where it was measured (its range).
 */
export function capacityText(c: Pick<CapacityCell, 'result'>): string {
  const { driverBound, undecided, range } = c.result;
  const held = range?.low ?? c.result.held;
  const failed = range?.high ?? c.result.failed;
  if (driverBound) return `≥ ${held !== undefined ? formatRate(held) : '?'} (driver-bound)`;
  if (held === undefined) return failed !== undefined ? `< ${formatRate(failed)}` : '–';
  // Rates still undecided inside the interval, in brackets: where the objective was met in some runs, not in others.
  const inside = !undecided
    ? ''
    : undecided[0] === undecided[1]
      ? `(${formatRate(undecided[0])})–`
      : `(${formatRate(undecided[0])}–${formatRate(undecided[1])})–`;
  return failed !== undefined ? `${formatRate(held)}–${inside}${formatRate(failed)}` : `≥ ${formatRate(held)}`;
}

/** The title of a workload's capacity: "capacity at p99 ≤ 10 ms", or "p99 ≤ 10 ms at 5.00k msgs/s" at its own rate. */
export function capacityTitle(row: Pick<CapacityRow, 'objective' | 'rate'>): string {
  return row.rate !== undefined
    ? `${row.objective.text} at ${formatRate(row.rate)} msgs/s`
    : `capacity at ${row.objective.text}`;
}

/** What the capacity rows answer, said once above them. */
export function capacityHeading(rows: readonly CapacityRow[]): string {
  const objective = rows[0]?.objective.text ?? '';
  if (rows.every((r) => r.rate !== undefined))
    return `Objective: whether each model holds ${objective} at the workload's rate`;
  const fixed = rows.some((r) => r.rate !== undefined) ? " (at a workload's own rate: whether it holds there)" : '';
  return `Capacity: the highest rate each model holds at ${objective}${fixed}`;
}

/** At a workload's own rate: each verdict, its models. */
const FIXED_WORDS: [CapacityCell['status'], string][] = [
  ['holds', 'holds'],
  ['fails', 'fails'],
  ['undecided', 'undecided'],
  ['driver-bound', 'the driver could not offer it'],
];

/** A model's verdict at a workload's own rate, for people. */
function fixedText(c: CapacityCell): string {
  if (c.status === 'ceiling') return `ceiling: ${c.steps[0]?.verdict ?? 'not run'}`;
  return FIXED_WORDS.find(([s]) => s === c.status)?.[1] ?? c.status;
}

/** One line: who holds the most, at what margin, and the next model; at a workload's own rate, who holds it. */
export function capacityHeadline(row: CapacityRow): string {
  if (row.rate !== undefined) {
    const groups = FIXED_WORDS.flatMap(([status, words]) => {
      const models = row.cells.filter((c) => c.status === status).map((c) => c.model);
      return models.length > 0 ? [`${words}: ${models.join(', ')}`] : [];
    });
    const ceiling = row.cells.find((c) => c.status === 'ceiling');
    const ref = ceiling ? [`${ceiling.model} (ceiling) ${ceiling.steps[0]?.verdict ?? 'not run'}`] : [];
    return [...groups, ...ref].join('; ') || 'no model ran at this rate';
  }
  const leader = row.cells.find((c) => c.status === 'winner');
  // Driver-bound models said first: "piscina holds the most" read as if it out-held five models that held 400× more.
  const bound = row.cells.filter((c) => c.status === 'driver-bound');
  const heldBound = bound.map((c) => c.result.range?.low ?? c.result.held ?? 0).sort((a, b) => a - b);
  const heldText = heldBound.length > 0 ? formatRate(heldBound[0]!) : '?';
  const heldSpan = heldBound.length > 1 && heldBound.at(-1)! > heldBound[0]! ? `–${formatRate(heldBound.at(-1)!)}` : '';
  const ceiling = row.cells.find((c) => c.status === 'ceiling' && c.result.held !== undefined);
  // The driver's limit said as the reference measured it: "held ≥ 1.82M, the driver's limit here" had read as if the
  // limit were the lowest model's lower bound, where the reference's was 4.70M–5.44M.
  const limitText = ceiling ? `the driver's limit ${capacityText(ceiling)} on ${ceiling.model}` : "the driver's limit";
  const boundText =
    bound.length > 0
      ? `${bound.map((c) => c.model).join(', ')}: driver-bound, not ranked (held ≥ ${heldText}${heldSpan} msgs/s; ${limitText})`
      : '';
  if (!leader) return boundText || 'no model held the objective at any rate tried';
  const group = row.cells.filter((c) => c.status === 'winner' || c.status === 'tie');
  const rest = row.cells
    .filter((c) => c.relative && !group.includes(c) && c.status !== 'undecided')
    .sort((a, b) => b.relative![1] - a.relative![1]);
  const next = rest[0] ? `; next: ${rest[0].model} ${capacityText(rest[0])}` : '';
  const pending = row.cells.filter((c) => c.status === 'undecided').map((c) => c.model);
  // While a model is undecided against the leader, the leader only held the highest rate: said as the throughput
  // verdict says it ("undecided: X leads"). "X held the highest rate" beside "cluster-rr wins" read as X holding more.
  const margin = `ranked at ±${pct(row.margin)}`;
  const ranked =
    pending.length > 0
      ? `undecided at ±${pct(row.margin)}: ${leader.model} leads (held the highest rate: ${capacityText(leader)} msgs/s); not yet placed: ${pending.join(', ')}${next}`
      : `${group.length > 1 ? `${group.map((c) => c.model).join(' ≈ ')} tie` : `${leader.model} holds the most`}: ${capacityText(leader)} msgs/s (${margin})${next}`;
  return bound.length > 0 ? `${boundText}; below it, ${ranked}` : ranked;
}

const MARK: Partial<Record<CapacityCell['status'], string>> = {
  winner: '★',
  tie: '≈',
  behind: '↓',
  undecided: '?',
  'driver-bound': 'driver-bound',
  ceiling: 'ceiling',
  none: 'none held',
};

/** A workload's capacities: every model, its bracket, its latency at the rate it held, what ran out, its place. */
export function capacityTable(row: CapacityRow): string {
  const percentile = row.objective.text.split(' ')[0]!;
  if (row.rate !== undefined) {
    const fixed = new Table({
      head: ['model', `at ${formatRate(row.rate)} msgs/s`, `${percentile} (median of runs)`, 'runs', 'ran out first'],
      colAligns: ['left', 'left', 'right', 'right', 'left'],
      ...BORDERLESS,
    });
    for (const c of row.cells) {
      const step = c.steps[0];
      const runs = step ? step.runs.length + step.errored.length : 0;
      const latency = step && step.runs.length > 0 ? formatLatency(step.objectiveUs) : '–';
      fixed.push([c.model, fixedText(c), latency, String(runs), c.ranOut ?? '–']);
    }
    return trimTable(fixed.toString());
  }
  const table = new Table({
    head: [
      'model',
      row.drift?.factor ? 'msgs/s ± drift' : 'msgs/s held–failed',
      `${percentile} at held`,
      'ran out first',
      'place',
    ],
    colAligns: ['left', 'right', 'right', 'left', 'left'],
    ...BORDERLESS,
  });
  for (const c of row.cells) {
    const heldStep = c.steps.find((s) => s.rate === c.result.held);
    const latency = heldStep ? formatLatency(heldStep.objectiveUs) : '–';
    // Two significant figures below 0.1: piscina's echo capacity read "0.00–0.00" of event-loop's.
    const fmt = (v: number): string => (v < 0.1 ? v.toPrecision(2) : v.toFixed(2));
    const rel = c.relative
      ? Number.isFinite(c.relative[1])
        ? `${fmt(c.relative[0])}–${fmt(c.relative[1])}`
        : `≥ ${fmt(c.relative[0])}`
      : '';
    table.push([c.model, capacityText(c), latency, c.ranOut ?? '–', [MARK[c.status], rel].filter(Boolean).join(' ')]);
  }
  return `${trimTable(table.toString())}\n${wrap(driftText(row), DRIFT_WIDTH, '  ')}`;
}

/** The drift line fits the first screen's 100 columns. */
const DRIFT_WIDTH = 100;
const bracketText = (r: CapacityResult): string => capacityText({ result: { ...r, range: undefined } });

/** How far the machine moved over a searched workload (the reference searched again), said under its table. Pure. */
export function driftText(row: Pick<CapacityRow, 'drift'>): string {
  const d = row.drift;
  if (!d) return "drift: not measured (no reference searched): each capacity is one search's bracket";
  const again = `drift: ${d.model} searched again after the others: ${bracketText(d.again)} msgs/s (first ${bracketText(d.first)})`;
  if (!d.factor) return `${again}; not measured (a bracket without both ends)`;
  const f = (x: number): string => x.toFixed(3);
  // "Moved" overclaimed: a second bracket inside the first still gives a factor as wide as the two brackets allow.
  return `${again}, so the machine moved by ×${f(d.factor[0])}–${f(d.factor[1])} at most, as far as the two brackets tell; each capacity low–(undecided)–high is its bracket widened by that, places are judged within one search`;
}

/** How the capacities were found, said once under them. */
export const CAPACITY_NOTE =
  "each model's capacity: the highest open-loop rate (fresh servers, latency from the intended send time) whose percentile provably held the objective over its runs with nothing failed below it, and the lowest that provably did not with nothing met above it, bisected to within 2 % (rates in brackets: undecided after five runs, or verdicts that disagree); a workload open loop already is checked at its own rate, judged the same way (holds, fails, or undecided after five runs); the models searched in turns; each range is the bracket widened by the machine's drift (the reference searched again after the others: how far its bracket moved); a rate the driver could not offer is the driver's limit, never ranked. Ran out first, at the lowest rate not held: server CPU (every CPU it had), one loop (a single-threaded model's CPU, others idle), queueing (latency grew with CPU left: queues, handoffs), connections (it serves fewer at once than the workload opens), the driver (docs/capacity.md)";
