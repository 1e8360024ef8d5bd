/** What a client counts inside the measured window: verified answers, bytes, errors, and latency histograms. */
import { latencyHistogram, recordMillis, type Histogram } from './histogram.js';
import { noErrors, type ErrorCounts } from './load-result.js';

export class WindowCounters {
  recording = false;
  messages = 0;
  bytes = 0;
  errors: ErrorCounts = noErrors();
  /** The first error's message, so a failed run can say why. */
  firstError: string | undefined;
  /** µs from send (closed loop) or from the intended send time (open loop). */
  readonly latency: Histogram = latencyHistogram();
  /** Open loop only: µs from the actual send. */
  readonly uncorrected: Histogram = latencyHistogram();

  reset(): void {
    this.messages = 0;
    this.bytes = 0;
    this.errors = noErrors();
    this.firstError = undefined;
    this.latency.reset();
    this.uncorrected.reset();
  }

  noteError(error: Error): void {
    this.firstError ??= error.message;
  }

  /** A verified answer of `bytes` at `now` to a message sent at `sent`, intended for `intended` (NaN: closed loop). */
  answered(bytes: number, now: number, sent: number, intended: number): void {
    this.messages++;
    this.bytes += bytes;
    if (Number.isNaN(intended)) {
      recordMillis(this.latency, now - sent);
    } else {
      recordMillis(this.latency, now - intended);
      recordMillis(this.uncorrected, now - sent);
    }
  }
}
