/**
 * Defaults that more than one command shares, written once: the bench, the load CLIs, the export and
 * gate:validate import them, and `npm run build` hands the load driver's to the C compiler (-D), so the C program
 * receives them rather than repeating them.
 */
export const DEFAULTS = {
  /** Concurrent connections of a workload and of `npm run load`. */
  connections: 50,
  /** Frames in flight per connection (closed loop). */
  inFlight: 1,
  payloadBytes: 64,
  /** A message unanswered this long is a timeout. */
  timeoutMs: 5000,
  /** A server not ready this long after it was started is a failed run (its ready line; --server: an answer). */
  startTimeoutSec: 15,
  /** A server still running this long after SIGTERM is killed with its process group. */
  stopTimeoutSec: 8,
  /** Bound on the wait, after the warmup, for every served connection's first answer. */
  readyTimeoutSec: 30,
  /** `npm run load`'s window and warmup (the bench's come from its profile). */
  loadDurationSec: 5,
  loadWarmupSec: 1,
  /** fork-per-connection's and thread-per-connection's cap on live children or threads. */
  maxChildren: 32,
  /** The regression gate: a change must be larger than this, in percent. */
  thresholdPercent: 10,
  /** The regression gate's significance level (two-sided; its intervals are 1 − alpha). */
  alpha: 0.05,
  /**
   * The verdict's equivalence margin: two models within ±this % of each other (90 % interval, TOST) are tied.
   * A row's models take turns in blocks and are judged on the ratio within each block (bench/run/run-block.ts), whose
   * spread measured here was 2.6–7.6 % a block of two 0.25 s windows (echo and cpu, event-loop, cluster-rr,
   * worker-threads and piscina against their row's leader), so ±5 % is decided in a few blocks for models that are
   * equal, and the quick profile's budget places the rest (docs/method.md). It was ±20 % while models were compared
   * run against run on a noisier machine (runs 15–25 % apart).
   */
  marginPercent: 5,
  /**
   * Each model's (--against: each side's) measured time in a round is split into windows of about this many seconds,
   * the servers of a row (of a cell) up together and taking turns. Measured here (event-loop echo, the same code both sides): the ratio of two
   * servers' CPU µs/msg spread 8.1 % between windows of 0.5 s, 5.2 % at 0.2 s; servers restarted for every window,
   * 10.6 %; blocks of fresh servers with ten 0.2 s windows each, 1.2 % (docs/gate.md).
   */
  alternateSec: 0.25,
  /** A run is set aside (and repeated) when the hypervisor stole more than this % of the CPU during it. */
  stealLimitPercent: 10,
  /** ... or when other processes used more than this % of a CPU. */
  otherLoadLimitPercent: 15,
  /**
   * A disturbance persists once this many runs in a row were set aside for one cause, over at least persistentSec
   * (bench/run/disturbance.ts): a compile of ten seconds beside a suite set five quick-profile runs aside in a row,
   * and is not a neighbour that stays.
   */
  persistentAfter: 5,
  persistentSec: 30,
} as const;
