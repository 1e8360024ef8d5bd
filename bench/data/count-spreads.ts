/**
 * How far fresh processes of the same code spread in instructions per message, measured here, with the machine, the
 * date and the command that produced each figure: the gate's per-cell instruction thresholds come from these
 * (judge/gate.ts: 1.5 × the spread, at least the metric's 1 %), and a model whose counts vary is judged by timing.
 * Listed: the cells where 1.5 × the spread exceeds 1 %. A result from another machine is no baseline for this one,
 * and neither are these figures: re-measure them where the gate runs (docs/counts.md says how).
 */

/** Where and how a spread was measured. */
export interface Provenance {
  machine: string;
  date: string;
  command: string;
}

/** A cell's spread: (max − min) / median of the processes' counts, each the median of its windows. */
export interface CountSpread {
  model: string;
  workload: string;
  spread: number;
  /** The range and the processes it came from. */
  measured: string;
  at: Provenance;
}

/** A model whose counts differ between fresh processes of the same code, with why: its timing decides. */
export interface CountsVary {
  model: string;
  why: string;
  at: Provenance;
}

/** The quick profile's cells, five processes each, then the processes of A/A bench:ci and gate:validate sessions. */
const QUICK_PROFILE_COUNTS: Provenance = {
  machine: '2-vCPU AMD EPYC VM (KVM), Node 20.20.2',
  date: '2026-12-02',
  command:
    'npm run bench -- --counts --skip-timing --count-runs 5 (commit 949d83a), and A/A bench:ci and gate:validate sessions',
};

export const COUNT_SPREADS: readonly CountSpread[] = [
  {
    model: 'iterative',
    workload: 'echo',
    spread: 0.0079,
    measured: '14,340–14,453 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'iterative',
    workload: 'cpu',
    spread: 0.0024,
    measured: '44,456–44,563 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'event-loop',
    workload: 'echo',
    spread: 0.0079,
    measured: '12,880–12,983 over 29 processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'event-loop',
    workload: 'cpu',
    spread: 0.0019,
    measured: '42,955–43,037 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'thread-per-connection',
    workload: 'echo',
    spread: 0.0136,
    measured: '55,111–55,869 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'thread-per-connection',
    workload: 'cpu',
    spread: 0.0098,
    measured: '85,195–86,036 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'worker-threads',
    workload: 'echo',
    spread: 0.0149,
    measured: '12,200–12,383 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'worker-threads',
    workload: 'cpu',
    spread: 0.0035,
    measured: '42,247–42,394 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
  {
    model: 'native-epoll',
    workload: 'echo',
    spread: 0.0069,
    measured: '305–307 over nine processes',
    at: QUICK_PROFILE_COUNTS,
  },
];

export const COUNTS_VARY_MEASURED: readonly CountsVary[] = [
  {
    model: 'piscina',
    why: 'five processes: 88.3k–92.0k instructions on echo (4.1 %), 119.7k–124.3k on cpu (3.7 %), 2.43–2.70 syscalls/msg: which thread takes a task, and when, depends on timing',
    at: QUICK_PROFILE_COUNTS,
  },
];
