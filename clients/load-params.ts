/**
 * One load, the one parameters type every driver takes (each uses what applies to it): where to send, how many
 * connections (UDP: flows), how many messages in flight on each (HTTP: pipelined requests), how big, which
 * connection pattern, closed or open loop, and for how long. The bench builds it from a workload; the load CLIs
 * from their flags.
 */
export type ConnectionPattern = 'persistent' | 'connect-per-request';
export const PATTERNS: readonly ConnectionPattern[] = ['persistent', 'connect-per-request'];

export type Phase = 'measure' | 'done';

export interface LoadParams {
  host: string;
  port: number;
  /** Concurrent connections (UDP: flows, one socket each). */
  connections: number;
  /** Closed loop: messages in flight per connection (HTTP: pipelined requests). */
  inFlight: number;
  /** Payload bytes of every message (HTTP: POST body; 0 = GET the fixed body). */
  payloadBytes: number;
  pattern: ConnectionPattern;
  /** Open loop: total messages per second across all connections; undefined = closed loop. */
  rate?: number;
  warmupSec: number;
  durationSec: number;
  /** A message unanswered this long counts as a timeout (UDP: lost), and so does a connect that takes this long. */
  timeoutMs: number;
  /** TCP: open the window only once this many connections have had a verified echo (default 0: after the warmup). */
  readyConnections?: number;
  /** ... or once this long has passed after the warmup. */
  readyTimeoutSec?: number;
  /** Driver threads (native driver: one event loop per thread, pinned one per CPU of its taskset). */
  threads?: number;
  /** Payload bytes from this seed, the same in every run given it (default: random, a new payload per driver process). */
  seed?: number;
  /** Called when the measured window starts and when it ends (the orchestrator samples the server then). */
  onPhase?: (phase: Phase) => void;
}
