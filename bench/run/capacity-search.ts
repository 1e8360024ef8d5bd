/**
 * The capacity searches of a workload's models (--slo), in turns: each round every search not yet ended runs one
 * step run, open loop in fresh servers, at the rate bench/judge/capacity.ts chooses for it, the order reversed every
 * round (A B C, C B A, …). A drift of the machine then weighs on every model's steps alike, where one model searched
 * after another met a different machine: three searches within an hour, one model after the other, put the Node
 * models' cpu capacities 5–17 % apart, and their order with them. Each run is handed on as soon as it exists (a
 * stopped suite keeps every step it measured).
 */
import { runCell, type CellContext, type CellSubject } from './run-cell.js';
import {
  AGAIN_FACTOR,
  BRACKET_FACTOR,
  nextStep,
  stepsOf,
  stepWindowSec,
  type CapacityResult,
} from '../judge/capacity.js';
import type { Objective } from '../data/slo.js';
import type { Workload } from '../data/workloads.js';
import type { RunRecord } from '../data/record.js';

export interface SearchHooks {
  onRecord(record: RunRecord): void;
  /** After each run: the model, the rate just run and the step's verdict so far. */
  onStep?(model: string, rate: number, verdict: string, why: string): void;
}

export interface SearchMember {
  subject: CellSubject;
  /** The first step's rate: the model's closed-loop throughput. */
  start: number;
  /** The rate the driver gave out at on the reference server: no step goes past it. */
  cap?: number;
  /** The workload's own rate (`start`): the objective checked there, not searched. */
  fixed?: boolean;
  /** The reference searched again, from the rate it held (the machine's drift over the search). */
  again?: boolean;
  /** Its first search's runs, whose spread the steps searched again pool with their own. */
  earlier?: readonly RunRecord[];
}

/** A search's runs a model at most, counting runs set aside (a disturbance) and repeated. */
const MAX_ATTEMPTS = 200;

/** Searches every member's capacity in turns; the results in the members' order. */
export async function searchCapacities(
  members: readonly SearchMember[],
  workload: Workload,
  ctx: CellContext,
  objective: Objective,
  hooks: SearchHooks,
  run: typeof runCell = runCell,
): Promise<CapacityResult[]> {
  const states = members.map((member) => ({
    member,
    records: [] as RunRecord[],
    attempts: 0,
    result: undefined as CapacityResult | undefined,
  }));
  for (let round = 0; ; round++) {
    const live = states.filter((s) => s.result === undefined);
    if (live.length === 0) return states.map((s) => s.result!);
    for (const s of round % 2 === 0 ? live : live.reverse()) {
      // Stopped (SIGINT): every search ends where it is, and the suite renders what they measured.
      if (ctx.signal?.aborted) s.result = { driverBound: false, note: 'interrupted' };
      if (s.result !== undefined) continue;
      const { subject, start, cap, fixed, again, earlier } = s.member;
      const steps = stepsOf(s.records, objective, earlier);
      const next = nextStep(steps, start, cap, fixed, again ? AGAIN_FACTOR : BRACKET_FACTOR);
      if ('done' in next) {
        s.result = next.done;
        continue;
      }
      if (++s.attempts > MAX_ATTEMPTS) {
        s.result = { driverBound: false, note: 'too many runs set aside or skipped' };
        continue;
      }
      const durationSec = stepWindowSec(next.rate, objective, ctx.settings.durationSec);
      const record = await run(subject, { ...workload, rate: next.rate }, s.records.length, {
        ...ctx,
        settings: { ...ctx.settings, durationSec },
      });
      const marked = {
        ...record,
        slo: {
          objective,
          rate: next.rate,
          start,
          ...(cap !== undefined ? { cap } : {}),
          ...(fixed ? { fixed: true } : {}),
          ...(again ? { again: true } : {}),
        },
      } as RunRecord;
      hooks.onRecord(marked);
      s.records.push(marked);
      if (record.status === 'skipped') s.result = { driverBound: false, note: `skipped: ${record.reason}` };
      else if (record.status === 'interrupted') s.result = { driverBound: false, note: 'interrupted' };
      // A run that did not happen says nothing of its step (an interrupted one had printed "undecided ()").
      if (s.result !== undefined) continue;
      const step = stepsOf(s.records, objective, earlier).find((x) => x.rate === next.rate);
      hooks.onStep?.(subject.name, next.rate, step?.verdict ?? 'undecided', step?.why ?? '');
    }
  }
}
