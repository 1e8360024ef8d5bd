import type { Protocol } from './protocol.js';
import type { Work } from './work.js';

/** What every model is started with; the same for all, so rows of a table are comparable. */
export interface ModelStartOptions {
  model: string;
  protocol: Protocol;
  host: string;
  /** 0 picks a free port. */
  port: number;
  work: Work;
  /** Workers, children or threads for the parallel models. */
  workers: number;
  /** fork-per-connection, thread-per-connection: most children or threads alive at once. */
  maxChildren: number;
}

export interface RunningServer {
  port: number;
  workers: number;
  details?: Record<string, string | number | boolean>;
  /** Stops accepting, ends every worker/child/thread, resolves when nothing is left. */
  close(): Promise<void>;
}

/** A model's file exports `start`. */
export interface ModelModule {
  start(options: ModelStartOptions): Promise<RunningServer>;
}
