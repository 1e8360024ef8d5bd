/**
 * A node:cluster worker of the cluster-rr / cluster-none models. It listens through the shared endpoint; the cluster
 * module turns that listen into a request to the primary, which either hands it accepted connections (round-robin)
 * or the listening handle itself (none). Reports `ready` over IPC once listening.
 */
import cluster from 'node:cluster';
import { openEndpoint } from '../endpoint.js';
import { localHandler } from '../handler.js';
import { reportStartFailure, type ChildMessage } from '../models/supervise.js';
import { readChildConfig } from './child-config.js';

async function main(): Promise<void> {
  if (!cluster.isWorker) throw new Error('cluster-worker runs as a node:cluster worker only');
  const config = readChildConfig();
  const endpoint = await openEndpoint(
    config.protocol,
    { host: config.host, port: config.port },
    await localHandler(config.work),
  );
  process.send!({ type: 'ready', port: endpoint.port } satisfies ChildMessage);
}

main().catch(reportStartFailure);
