/** node:cluster, round-robin: the primary accepts and hands each connection to the next worker. See cluster-common.ts. */
import type { RunningServer, ServerOptions } from '../types.js';
import { startCluster } from './cluster-common.js';

export function start(options: ServerOptions): Promise<RunningServer> {
  return startCluster(options, 'rr');
}
