/** node:cluster, SCHED_NONE: every worker accepts on the shared listening handle itself. See cluster-common.ts. */
import type { RunningServer, ModelStartOptions } from '../types.js';
import { startCluster } from './cluster-common.js';

export function start(options: ModelStartOptions): Promise<RunningServer> {
  return startCluster(options, 'none');
}
