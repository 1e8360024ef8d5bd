/**
 * The one list of concurrency models. Adding a model is one file in servers/models/ and one entry here; the bench,
 * the CLI and the contract tests all read this list.
 */
import type { Protocol } from './protocol.js';
import type { ModelModule } from './types.js';
import { EPOLL_ECHO, nativeBinary, nativeStatus } from '../lib/native.js';
import { reusePortSupported, WORKER_THREADS_UDP_UNSUPPORTED } from './node-features.js';

/** A measured spread of counts between fresh processes. */
export interface CountSpread {
  spread: number;
  measured: string;
}

export type Availability = { ok: true } | { ok: false; reason: string };

interface ModelBase {
  name: string;
  summary: string;
  protocols: readonly Protocol[];
  /** Why the model does not serve a protocol it lacks (shown instead of a row). */
  whyNot?: Partial<Record<Protocol, string>>;
  /**
   * Why its counts per message differ between fresh processes of the same code, if they do (measured with
   * `--counts --count-runs 5`): the gate then shows its counts but lets timing decide.
   */
  countsVary?: string;
  /**
   * Per workload, the spread (max − min) / median of its instructions per message between fresh processes of the same
   * code, where each process holds its own level (measured with `--counts --count-runs 5` and in A/A bench:ci runs):
   * the gate judges a cell's instructions against 1.5 × its spread (at least the default 2 %); a workload not measured
   * is taken to be as wide as the model's widest one. Listed where 1.5 × the spread exceeds the default 1 % (measured
   * with the heap sized by no clock, bench/run/counts.ts: the quick profile's cells, --count-runs 5, and both sides of
   * A/A bench:ci and gate:validate sessions).
   */
  countsSpread?: Readonly<Record<string, CountSpread>>;
  /** Can run handler work for two connections at the same time on two CPUs. */
  parallel: boolean;
  /**
   * Persistent connections it can serve at once when asked to serve `connections` (default: all of them). The load
   * driver opens its window only once that many have had an answer; the rest stay counted as starved.
   */
  servesAtOnce?(connections: number, o: { maxChildren: number }): number;
  available(): Availability;
}

export interface NodeModel extends ModelBase {
  runtime: 'node';
  load(): Promise<ModelModule>;
}

/** A model served by a program that is not Node (the native epoll ceiling). */
export interface NativeModel extends ModelBase {
  runtime: 'native';
  binary(): string;
}

export type Model = NodeModel | NativeModel;

const always = (): Availability => ({ ok: true });

/** The per-connection models serve as many connections at once as they may have children or threads alive. */
const upToMaxChildren = (connections: number, o: { maxChildren: number }): number => Math.min(connections, o.maxChildren);

export const MODELS: readonly Model[] = [
  {
    name: 'iterative',
    servesAtOnce: () => 1,
    summary: 'one connection at a time; the others wait in accept order',
    countsSpread: {
      echo: { spread: 0.0079, measured: '14,340–14,453 over nine processes' },
      cpu: { spread: 0.0024, measured: '44,456–44,563 over nine processes' },
    },
    runtime: 'node',
    protocols: ['tcp', 'http'],
    whyNot: { udp: 'UDP has no connections to serve one at a time (an iterative UDP server is just the event loop)' },
    parallel: false,
    available: always,
    load: () => import('./models/iterative.js'),
  },
  {
    name: 'event-loop',
    summary: 'one net.Server on one thread, all connections multiplexed by libuv epoll',
    countsSpread: {
      echo: { spread: 0.0079, measured: '12,880–12,983 over 29 processes' },
      cpu: { spread: 0.0019, measured: '42,955–43,037 over nine processes' },
    },
    runtime: 'node',
    protocols: ['tcp', 'http', 'udp'],
    parallel: false,
    available: always,
    load: () => import('./models/event-loop.js'),
  },
  {
    name: 'cluster-rr',
    summary: 'node:cluster workers on one port; the primary accepts and hands connections round-robin',
    runtime: 'node',
    protocols: ['tcp', 'http', 'udp'],
    parallel: true,
    available: always,
    load: () => import('./models/cluster-rr.js'),
  },
  {
    name: 'cluster-none',
    summary: 'node:cluster workers on one port; each worker accepts on the shared listening socket itself (SCHED_NONE)',
    runtime: 'node',
    protocols: ['tcp', 'http', 'udp'],
    parallel: true,
    available: always,
    load: () => import('./models/cluster-none.js'),
  },
  {
    name: 'fork-pool',
    summary: 'pre-forked child processes; the parent accepts and hands each socket round-robin over IPC',
    runtime: 'node',
    protocols: ['tcp', 'http'],
    whyNot: { udp: 'UDP has no connections to hand to a child' },
    parallel: true,
    available: always,
    load: () => import('./models/fork-pool.js'),
  },
  {
    name: 'fork-per-connection',
    servesAtOnce: upToMaxChildren,
    summary: 'a new child process per connection, at most --max-children alive; over the cap connections wait in a FIFO queue',
    runtime: 'node',
    protocols: ['tcp', 'http'],
    whyNot: { udp: 'UDP has no connections to give a process each' },
    parallel: true,
    available: always,
    load: () => import('./models/fork-per-connection.js'),
  },
  {
    name: 'thread-per-connection',
    servesAtOnce: upToMaxChildren,
    summary: 'a new worker thread per connection, at most --max-children alive, over the cap a FIFO queue; the main thread relays each connection\'s bytes to its thread over a MessagePort',
    countsSpread: {
      echo: { spread: 0.0136, measured: '55,111–55,869 over nine processes' },
      cpu: { spread: 0.0098, measured: '85,195–86,036 over nine processes' },
    },
    runtime: 'node',
    protocols: ['tcp', 'http'],
    whyNot: { udp: 'UDP has no connections to give a thread each' },
    parallel: true,
    available: always,
    load: () => import('./models/thread-per-connection.js'),
  },
  {
    name: 'worker-threads',
    summary: 'worker_threads that each accept on the same listening socket and own their connections',
    countsSpread: {
      echo: { spread: 0.0149, measured: '12,200–12,383 over nine processes' },
      cpu: { spread: 0.0035, measured: '42,247–42,394 over nine processes' },
    },
    runtime: 'node',
    protocols: reusePortSupported() ? ['tcp', 'http', 'udp'] : ['tcp', 'http'],
    whyNot: { udp: WORKER_THREADS_UDP_UNSUPPORTED },
    parallel: true,
    available: always,
    load: () => import('./models/worker-threads.js'),
  },
  {
    name: 'piscina',
    summary: 'main-thread event loop does the I/O; each frame\'s handler work runs on a Piscina thread pool',
    countsVary: 'five processes: 88.3k–92.0k instructions on echo (4.1 %), 119.7k–124.3k on cpu (3.7 %), 2.43–2.70 syscalls/msg: which thread takes a task, and when, depends on timing',
    runtime: 'node',
    protocols: ['tcp', 'http', 'udp'],
    parallel: true,
    available: always,
    load: () => import('./models/piscina.js'),
  },
  {
    name: 'native-epoll',
    summary: 'C epoll echo server speaking the same protocol: the ceiling row',
    countsSpread: { echo: { spread: 0.0069, measured: '305–307 over nine processes' } },
    runtime: 'native',
    protocols: ['tcp'],
    whyNot: { http: 'the native server speaks the framed TCP protocol only', udp: 'the native server speaks the framed TCP protocol only' },
    parallel: false,
    available: () => nativeStatus(EPOLL_ECHO),
    binary: () => nativeBinary(EPOLL_ECHO),
  },
];

export const MODEL_NAMES: readonly string[] = MODELS.map((m) => m.name);

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
}

export function findModel(name: string): Model {
  const model = MODELS.find((m) => m.name === name);
  if (!model) throw new UnknownModelError(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  return model;
}
