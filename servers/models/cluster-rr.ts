/** node:cluster, round-robin: the primary accepts and hands each connection to the next worker. See cluster-common.ts. */
import type { RunningServer, ModelStartOptions } from '../types.js';
import { startCluster } from './cluster-common.js';

export function start(options: ModelStartOptions): Promise<RunningServer> {
  return startCluster(options, 'rr');
}
