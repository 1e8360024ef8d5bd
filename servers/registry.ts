/**
 * The one list of concurrency models. Adding a model is one file in servers/models/ and one entry here; the bench,
 * the CLI and the contract tests all read this list.
 */
import type { Protocol } from './protocol.js';
import type { ModelModule } from './types.js';
import { EPOLL_ECHO, nativeBinary, nativeStatus } from '../lib/native.js';
import { reusePortSupported, WORKER_THREADS_UDP_UNSUPPORTED } from './node-features.js';

export type Availability = { ok: true } | { ok: false; reason: string };

interface ModelBase {
  name: string;
  summary: string;
  protocols: readonly Protocol[];
  /** Why the model does not serve a protocol it lacks (shown instead of a row). */
  whyNot?: Partial<Record<Protocol, string>>;
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

/**
 * A server conbench did not write, brought by the user (`--server NAME=COMMAND`): any program in any language that
 * speaks one of the protocols. It is run by `/bin/sh -c` in its own process group, a fresh process per run.
 */
export interface ExternalModel extends ModelBase {
  runtime: 'external';
  /** The shell command; `{port}` is replaced by a free port, else the port is the first integer it prints. */
  command: string;
  /** HTTP: a path it answers GET on (for a server that does not echo POST bodies). */
  httpPath?: string;
}

/** The models conbench brings: the registry's. */
export type BuiltInModel = NodeModel | NativeModel;

export type Model = BuiltInModel | ExternalModel;

const always = (): Availability => ({ ok: true });

/** The per-connection models serve as many connections at once as they may have children or threads alive. */
const upToMaxChildren = (connections: number, o: { maxChildren: number }): number =>
  Math.min(connections, o.maxChildren);

export const MODELS: readonly BuiltInModel[] = [
  {
    name: 'iterative',
    servesAtOnce: () => 1,
    summary: 'one connection at a time; the others wait in accept order',
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
    summary:
      'a new child process per connection, at most --max-children alive; over the cap connections wait in a FIFO queue',
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
    summary:
      "a new worker thread per connection, at most --max-children alive, over the cap a FIFO queue; the main thread relays each connection's bytes to its thread over a MessagePort",
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
    runtime: 'node',
    protocols: reusePortSupported() ? ['tcp', 'http', 'udp'] : ['tcp', 'http'],
    whyNot: { udp: WORKER_THREADS_UDP_UNSUPPORTED },
    parallel: true,
    available: always,
    load: () => import('./models/worker-threads.js'),
  },
  {
    name: 'piscina',
    summary: "main-thread event loop does the I/O; each frame's handler work runs on a Piscina thread pool",
    runtime: 'node',
    protocols: ['tcp', 'http', 'udp'],
    parallel: true,
    available: always,
    load: () => import('./models/piscina.js'),
  },
  {
    name: 'native-epoll',
    summary: 'C epoll echo server speaking the same protocol: the ceiling row',
    runtime: 'native',
    protocols: ['tcp'],
    whyNot: {
      http: 'the native server speaks the framed TCP protocol only',
      udp: 'the native server speaks the framed TCP protocol only',
    },
    parallel: false,
    available: () => nativeStatus(EPOLL_ECHO),
    binary: () => nativeBinary(EPOLL_ECHO),
  },
];

export const MODEL_NAMES: readonly string[] = MODELS.map((m) => m.name);

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
}

export function findModel(name: string): BuiltInModel {
  const model = MODELS.find((m) => m.name === name);
  if (!model) throw new UnknownModelError(`unknown model "${name}"; known models: ${MODEL_NAMES.join(', ')}`);
  return model;
}
