/**
 * The metrics, each one record: what one run gives (its per-run sample), its label and table column, which direction
 * is better, how it is printed, whether it is a timing (moves with whatever else the machine does) or a count (what
 * the server executed or asked of the kernel per message, which a neighbour does not move), its part in the gate and
 * its threshold, the word the verdict's "why" uses for it, and whether `compare --history` traces it. Cell summaries,
 * the tables, the CSV, the why, the gate, history and docs/reference.md all take their metrics from this list.
 */
import { formatMicros, formatRate } from '../../lib/format/units.js';
import type { OkRecord } from './record.js';
import { median } from './stats.js';

export type MetricId =
  | 'throughput'
  | 'cpuPerMsg'
  | 'p99'
  | 'syscallsPerMsg'
  | 'ctxSwitchesPerMsg'
  | 'instructionsPerMsg';

export type GateRole = 'decides' | 'defers' | 'reports';

export interface Metric {
  id: MetricId;
  /** For prose and the gate's table: "server CPU µs/msg". */
  label: string;
  /** What one run's value is and how it is taken, for docs/reference.md (generated: npm run docs). */
  describe: string;
  /** The CSV column of the per-run value. */
  csv: string;
  better: 'higher' | 'lower';
  /** timing: a rate or a time (noisy on a shared machine); count: per-message counts of what the server did. */
  kind: 'timing' | 'count';
  /**
   * Its part in the regression gate: decides (a proven change or an undecided row fails), defers (undecided, it
   * does not fail a cell whose server CPU µs/msg is decided: what it measures costs the server CPU time, so a
   * change of the code's shows there too), or reports (shown with its change, never fails).
   */
  inGate: GateRole;
  /**
   * A count's own regression rule: a change must exceed `relative` and be at least `absolute` per message (a count
   * near zero, like context switches on a persistent echo, doubles from noise alone). Timings use --threshold.
   */
  threshold?: { relative: number; absolute: number };
  /** Its column in the workload tables (the median over the cell's runs), where it has one of its own. */
  column?: string;
  /** In a verdict row's why: the short word for it, and when a model's value differs enough from the leader's to say. */
  why?: { short: string; notable(value: number, leader: number): boolean };
  /** `compare --history` looks for change points in it (the server's own cost and its speed). */
  history: boolean;
  /** The value one run gives, or undefined where the run did not measure it. */
  ofRun(r: OkRecord): number | undefined;
  format(v: number): string;
}

/** Per-message values below 1 keep three digits after the point (2.05 syscalls, 0.004 context switches). */
function perMessage(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (v >= 1000) return formatRate(v);
  if (v >= 100) return v.toFixed(0);
  if (v >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/** µs with the precision its size deserves: 0.31, 22.50, 203, 95.0ms (a process start per message), 1.99s. */
export function formatCpuPerMsg(us: number): string {
  if (!Number.isFinite(us)) return '–';
  if (us >= 1e4) return formatMicros(us);
  return us >= 100 ? us.toFixed(0) : us.toFixed(2);
}

const messages = (r: OkRecord): number | undefined => (r.result.messages > 0 ? r.result.messages : undefined);

export const METRICS: Readonly<Record<MetricId, Metric>> = {
  throughput: {
    id: 'throughput',
    label: 'msgs/s',
    describe:
      'verified echoes per second over the measured window (closed loop: what the server sustained; open loop: the rate held)',
    csv: 'msgsPerSec',
    better: 'higher',
    kind: 'timing',
    inGate: 'defers',
    history: true,
    ofRun: (r) => r.result.msgsPerSec,
    format: formatRate,
  },
  cpuPerMsg: {
    id: 'cpuPerMsg',
    label: 'server CPU µs/msg',
    describe:
      "CPU time of the server's whole process tree over the window (schedstat run time of every thread, live and reaped) divided by the verified messages",
    csv: 'serverCpuUsPerMsg',
    better: 'lower',
    kind: 'timing',
    inGate: 'decides',
    column: 'CPU µs/msg',
    why: { short: 'CPU µs', notable: (c, l) => c / l > 1.15 || c / l < 0.87 },
    history: true,
    ofRun: (r) =>
      r.server.usage && r.result.msgsPerSec > 0
        ? (r.server.usage.cpuPercent / 100) * (1e6 / r.result.msgsPerSec)
        : undefined,
    format: formatCpuPerMsg,
  },
  p99: {
    id: 'p99',
    label: 'p99 µs',
    describe:
      "99th percentile latency of the run's HdrHistogram; open loop: from each frame's intended send time, so a stall counts for every frame it delayed",
    csv: 'p99us',
    better: 'lower',
    kind: 'timing',
    inGate: 'defers',
    history: false,
    ofRun: (r) => r.result.latency.p99,
    format: (v) => (Number.isFinite(v) ? `${Math.round(v)}` : '–'),
  },
  syscallsPerMsg: {
    id: 'syscallsPerMsg',
    label: 'read+write syscalls/msg',
    describe:
      "read + write system calls of the server's tree in the window (syscr + syscw of /proc/PID/io) per verified message; a counted run's over its counted windows. recv, send and their kin are not counted there: a server that receives or sends with them (native-epoll's send, Rust's std, CPython's sockets) reads –, not 0 (so does one with fewer calls than one a message per frame in flight: some of its I/O is unseen)",
    csv: 'syscallsPerMsg',
    better: 'lower',
    kind: 'count',
    inGate: 'decides',
    threshold: { relative: 0.05, absolute: 0.02 },
    column: 'syscalls/msg',
    why: { short: 'syscalls', notable: (c, l) => Math.abs(c - l) >= 0.2 },
    history: true,
    ofRun: (r) => {
      // A counted run's: over its counted windows (exact messages, under valgrind); a timed run's: over its window.
      // I/O made with calls /proc/PID/io does not count (recv, send) is unseen, not free: rust-threads and every Python
      // server read 0.000 a message timed (py-selectors 0.014 counted), native-epoll half (its sends). A side with no
      // call at all, or fewer calls than the frames in flight allow (each read or write serves one connection, at most
      // its frames in flight: ≥ 2/inFlight a message, half that with slack), is unseen. Open loop has no such floor.
      const floor = r.params.rate === undefined ? 1 / r.params.inFlight : 0;
      const seen = (calls: number, n: number): number | undefined =>
        n > 0 && calls / n >= floor ? calls / n : undefined;
      if (r.counts) return r.counts.syscalls ? seen(r.counts.syscalls, r.counts.messages) : undefined;
      const s = r.server.usage?.syscalls;
      const n = messages(r);
      return s && n && s.read > 0 && s.write > 0 ? seen(s.read + s.write, n) : undefined;
    },
    format: perMessage,
  },
  ctxSwitchesPerMsg: {
    id: 'ctxSwitchesPerMsg',
    label: 'context switches/msg',
    describe:
      "voluntary + involuntary context switches of the server's threads in the window (/proc/PID/task/*/status) per verified message",
    csv: 'ctxSwitchesPerMsg',
    better: 'lower',
    kind: 'count',
    // Reported, not gated: the involuntary part is the scheduler's, not the code's. Five whole-suite A/A sessions
    // (identical code, both sides in blocks): native-epoll's cpu runs had 0.001–0.004 switches a message in 13 of 20
    // runs and 0.51–1.00 in 7 (preempted once a message in some windows), event-loop's 0.05–0.55; one session
    // named event-loop cpu +130 % [+10 %, +383 %] (p = 0.03) a regression, another left native-epoll undecided
    // after 30 pairs. Iterative's voluntary and involuntary traded places run to run (0.02–0.98 voluntary at a
    // steady sum), so neither part alone is the code's either. A switch the code adds costs CPU time and
    // instructions, which gate.
    inGate: 'reports',
    // Judged by the same rule as the other counts, but only reported (inGate).
    threshold: { relative: 0.25, absolute: 0.05 },
    column: 'ctx sw/msg',
    // Near zero on a busy loop: only a whole switch more per message is worth a word.
    why: { short: 'ctx sw', notable: (c, l) => c - l >= 0.5 },
    history: false,
    ofRun: (r) => {
      const c = r.server.usage?.contextSwitches;
      const n = messages(r);
      return c && n ? (c.voluntary + c.involuntary) / n : undefined;
    },
    format: perMessage,
  },
  instructionsPerMsg: {
    id: 'instructionsPerMsg',
    label: 'instructions/msg',
    describe:
      "with --counts: instructions the server's tree executed under callgrind per message, the median of 8 windows of exactly K frames per connection (docs/counts.md)",
    csv: 'instructionsPerMsg',
    better: 'lower',
    kind: 'count',
    inGate: 'decides',
    // The median window: a major GC or a late compile lands in one window of the eight, in some processes and not
    // others (cluster-none: 13.0k, 13.0k, 27.4k, 13.0k in one process), and the median does not follow it.
    // 1 %: fresh processes of most gated cells repeat within 0.7 % here (docs/counts.md); at 2 % one Date.now() per
    // message (+1.8–2.3 % on event-loop's echo) passed 3 of its first 6 A/B trials. A model whose processes spread
    // wider gets 1.5 × its measured spread (judge/gate.ts).
    threshold: { relative: 0.01, absolute: 0 },
    column: 'instructions/msg',
    why: { short: 'instructions', notable: (c, l) => c / l > 1.1 || c / l < 0.9 },
    history: true,
    ofRun: (r) =>
      r.counts?.windowPerMessage?.length
        ? median(r.counts.windowPerMessage)
        : r.counts && r.counts.messages > 0
          ? r.counts.instructions / r.counts.messages
          : undefined,
    format: perMessage,
  },
};

export const METRIC_IDS = Object.keys(METRICS) as MetricId[];

/** Where a metric's samples come from: timed runs (real speed), or counted runs (under callgrind, exact windows). */
export type SampleSource = 'timed' | 'counted';

/**
 * The one rule for which runs a metric's samples come from, in order of preference. A timing comes from timed runs
 * only, instructions from counted runs only. A count (syscalls, context switches) can come from either, but never
 * from a mix: under valgrind a server 300× slower batches differently (event-loop echo: 2.01 syscalls/msg counted
 * against 1.88–1.90 timed), so a comparison of one side's timed with the other's counted named two "regressions" in
 * identical code. To show a suite, its timed runs first (the speed it really runs at); to gate, the counted windows
 * first where both sides have them (there the counts decide the cell, and no neighbour moves them).
 */
export function sourcesFor(id: MetricId, purpose: 'show' | 'gate'): readonly SampleSource[] {
  if (METRICS[id].kind === 'timing') return ['timed'];
  if (id === 'instructionsPerMsg') return ['counted'];
  return purpose === 'show' ? ['timed', 'counted'] : ['counted', 'timed'];
}

/** The first source of `sourcesFor` that every side has samples from; undefined when they share none. */
export function commonSource(
  id: MetricId,
  purpose: 'show' | 'gate',
  sides: readonly ReadonlySet<SampleSource>[],
): SampleSource | undefined {
  return sourcesFor(id, purpose).find((s) => sides.every((has) => has.has(s)));
}

/** A metric's per-run samples over some runs, each with the run it came from (the runs that measured it). */
export function runSamplesOf(metric: MetricId, runs: readonly OkRecord[]): { value: number; run: OkRecord }[] {
  return runs.flatMap((run) => {
    const value = METRICS[metric].ofRun(run);
    return value !== undefined && Number.isFinite(value) ? [{ value, run }] : [];
  });
}

/** A metric's per-run samples over some runs (the runs that measured it). */
export function samplesOf(metric: MetricId, runs: readonly OkRecord[]): number[] {
  return runSamplesOf(metric, runs).map((s) => s.value);
}
