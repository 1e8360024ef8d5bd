/**
 * node:cluster with N workers sharing one port; cluster-rr and cluster-none differ only in the scheduling policy.
 *
 * - rr (SCHED_RR): the primary (the serve.js process) accepts every connection and hands it to the next worker over
 *   IPC. Even spread, one extra hop per connection, and the primary's single thread is on the accept path.
 * - none (SCHED_NONE): the primary sends the listening handle to every worker and the workers accept themselves;
 *   the kernel decides who wins each accept, so the spread can be uneven: a worker that wakes first accepts every
 *   pending connection, so two connections arriving together share one worker about half the time.
 *
 * Node freezes the policy at the first cluster.setupPrimary()/fork() in a process, so one process can run only one
 * policy: starting the other one after that is refused rather than silently run with the wrong policy.
 * A worker that dies is replaced after a backoff (100 ms doubling to 2 s) unless the server is closing. While no
 * worker is left the port is closed (connections are refused), and a connection the rr primary had handed to a
 * worker that died before taking it is reset rather than left hanging (cluster-handoff.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import dgram from 'node:dgram';
import { bindUdp, listenOn } from '../listen.js';
import type { RunningServer, ModelStartOptions } from '../types.js';
import { childEnv } from '../entries/child-config.js';
import { readyTimeoutMs, RestartBackoff, stopChild, waitForReady } from './supervise.js';
import { closeUnacknowledgedHandoffs } from './cluster-handoff.js';

export type SchedPolicy = 'rr' | 'none';

const WORKER_ENTRY = fileURLToPath(new URL('../entries/cluster-worker.js', import.meta.url));

let frozenPolicy: SchedPolicy | undefined;

function setPolicy(policy: SchedPolicy): void {
  if (frozenPolicy !== undefined && frozenPolicy !== policy) {
    throw new Error(
      `cluster scheduling policy is already ${frozenPolicy} in this process; cluster-${policy} needs a fresh process`,
    );
  }
  if (!cluster.isPrimary) throw new Error('cluster models start from the primary process');
  cluster.schedulingPolicy = policy === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
  frozenPolicy = policy;
}

export async function startCluster(options: ModelStartOptions, policy: SchedPolicy): Promise<RunningServer> {
  setPolicy(policy);
  const count = options.workers;
  const workers = new Set<Worker>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const backoff = new RestartBackoff();
  let closing = false;
  let started = false;
  let restarts = 0;
  let port = options.port;

  const fork = (): Worker => {
    const worker = cluster.fork(childEnv({ protocol: options.protocol, host: options.host, port, work: options.work }));
    if (policy === 'rr') closeUnacknowledgedHandoffs(worker.process);
    const bornAt = Date.now();
    workers.add(worker);
    worker.on('error', () => undefined); // IPC errors of a dying worker; its 'exit' follows
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (closing || worker.exitedAfterDisconnect || !started) return;
      const delay = backoff.next(Date.now() - bornAt);
      process.stderr.write(
        `cluster-${policy}: worker ${worker.process.pid} died (code ${code}, signal ${signal}); replacing in ${delay} ms\n`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (closing) return;
        restarts++;
        const replacement = fork();
        waitForReady(
          replacement.process,
          `cluster-${policy} replacement worker ${replacement.process.pid}`,
          readyTimeoutMs(1),
        ).catch((error: Error) => closing || process.stderr.write(`${error.message}\n`));
      }, delay);
      restartTimers.add(timer);
    });
    return worker;
  };

  const close = async (): Promise<void> => {
    closing = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    const exits = [...workers].map(
      (w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
    );
    await Promise.all([...workers].map((w) => stopChild(w.process)));
    await Promise.all(exits);
    // The primary drops its listening handle when the last worker is removed; let that close run.
    await new Promise((resolve) => setImmediate(resolve));
  };

  try {
    // Every worker must listen with the same arguments: the primary keys its shared handles by address and port, so a
    // worker asking for port 0 and one asking for the port it got would get two different sockets (EADDRINUSE).
    // A free port is picked first, so replacements can rebind it even if every worker had died.
    if (port === 0) port = await pickFreePort(options.host, options.protocol === 'udp');
    const initial = Array.from({ length: count }, () => fork());
    await Promise.all(
      initial.map((w) => waitForReady(w.process, `cluster-${policy} worker ${w.process.pid}`, readyTimeoutMs(count))),
    );
    started = true;
  } catch (error) {
    await close();
    throw error;
  }

  return {
    port,
    workers: count,
    details: { schedPolicy: policy, restartBackoffMs: '100..2000' },
    close: async () => {
      await close();
      if (restarts > 0) process.stderr.write(`cluster-${policy}: ${restarts} worker(s) were replaced during the run\n`);
    },
  };
}

/** Binds port 0 on `host` for a moment to learn a free port (of the right kind) for the workers to share. */
async function pickFreePort(host: string, udp: boolean): Promise<number> {
  if (udp) {
    const probe = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const port = await bindUdp(probe, host, 0);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }
  const probe = net.createServer();
  const port = await listenOn(probe, host, 0);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
