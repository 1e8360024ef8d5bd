/**
 * Process primitives: the child_process IPC round trip (json and advanced serialization), handing a socket to a
 * child (what fork-pool and cluster-rr do once per connection), and fork() to first message, one child and a burst
 * of 32 (what fork-per-connection pays per connection, and what its first connections cause), with the real
 * fork-child entry of the fork models.
 */
import net from 'node:net';
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { FnReturnedObject } from 'tinybench';
import { FORK_CHILD_ENTRY } from '../../servers/models/fork-pool.js';
import { childEnv } from '../../servers/entries/child-config.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { hasExited, stopChild, waitForReady } from '../../servers/models/supervise.js';
import { listenOn } from '../../servers/listen.js';
import { reapedChildrenCpuUs } from '../run/sampler.js';
import { ownCpuUs } from './measure.js';
import { startMicroChild } from './peer.js';
import type { Fixture, Primitive } from './primitive.js';
import { track } from '../../lib/lifecycle.js';

/** About what fork-pool sends with a socket: a short message. */
const IPC_MESSAGE = { type: 'echo', seq: 1, note: 'conbench' };

function ipcRoundTrip(serialization: 'json' | 'advanced'): Primitive {
  return {
    id: `ipc-${serialization}`,
    title: `child_process IPC round trip (${serialization})`,
    op: `a small object to a forked child and back, serialization: '${serialization}'`,
    async setup(): Promise<Fixture> {
      const peer = await startMicroChild('ipc-echo', [], serialization);
      return {
        fn: () => peer.request(IPC_MESSAGE),
        async: true,
        cpu: async () => ({ parent: ownCpuUs(), child: await peer.cpuUs() }),
        details: () => ({ serialization, message: JSON.stringify(IPC_MESSAGE) }),
        close: () => peer.close(),
      };
    },
  };
}

const handlePass: Primitive = {
  id: 'handle-pass',
  title: 'pass a socket handle to a child',
  op: "child.send('socket', socket) of an accepted TCP socket until the child has it (and closed its copy)",
  async setup(): Promise<Fixture> {
    const peer = await startMicroChild('handle-sink');
    // One accepted connection, handed over again and again (keepOpen): each send passes a fresh fd the child closes.
    const server = net.createServer({ pauseOnConnect: true });
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    let client: net.Socket | undefined;
    let socket: net.Socket | undefined;
    const close = async (): Promise<void> => {
      client?.destroy();
      socket?.destroy();
      server.close();
      await peer.close();
    };
    try {
      const port = await listenOn(server, '127.0.0.1', 0);
      client = net.connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      socket = await accepted;
      socket.on('error', () => undefined);
    } catch (error) {
      await close();
      throw error;
    }
    const handed = socket;
    return {
      fn: () => peer.request('socket', handed),
      async: true,
      cpu: async () => ({ parent: ownCpuUs(), child: await peer.cpuUs() }),
      details: () => ({ keepOpen: 'true (one socket sent repeatedly)' }),
      close,
    };
  },
};

/** fork-per-connection's default cap: the burst its first connections cause. */
export const FORK_BURST = DEFAULTS.maxChildren;

/**
 * fork() of `count` children together (the fork models' real child entry) until every one has sent its ready message;
 * then they are let go and their exits awaited. Latency: until the last is ready. CPU: the children's whole lives
 * (start, ready, exit) and the parent's part, read from the reaped children's CPU time (10 ms ticks).
 */
function forkChildren(count: number): Primitive {
  return {
    id: count === 1 ? 'fork-start' : 'fork-burst',
    title: count === 1 ? 'fork() to first message' : `${count} × fork() at once to every first message`,
    op:
      count === 1
        ? "fork the fork models' child entry, wait for its ready message; then let it exit"
        : `fork ${count} of the fork models' child entry together, wait until all are ready; then let them exit`,
    minSamples: count === 1 ? 16 : 4,
    async setup(): Promise<Fixture> {
      const env = childEnv({ protocol: 'tcp', host: '127.0.0.1', port: 0, work: { kind: 'none' } });
      const live = new Set<ChildProcess>();
      const startOne = async (): Promise<void> => {
        const child = track(
          fork(FORK_CHILD_ENTRY, ['single'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
        );
        live.add(child);
        await waitForReady(child, 'fork-child', 60_000);
      };
      const stopAll = async (): Promise<void> => {
        const children = [...live];
        live.clear();
        await Promise.all(children.map((c) => stopChild(c)));
      };
      return {
        fn: async (): Promise<FnReturnedObject> => {
          const t0 = performance.now();
          try {
            await Promise.all(Array.from({ length: count }, startOne));
            const ready = performance.now() - t0;
            const exits = [...live].map(
              (c) => new Promise<void>((resolve) => (hasExited(c) ? resolve() : c.once('exit', () => resolve()))),
            );
            for (const c of live) c.disconnect(); // a single-connection child exits when its parent lets go
            await Promise.all(exits);
            return { overriddenDuration: ready, overriddenIterationCost: performance.now() - t0 };
          } finally {
            await stopAll();
          }
        },
        async: true,
        cpu: async () => ({ parent: ownCpuUs(), children: reapedChildrenCpuUs() }),
        details: () => ({ children: count, entry: 'servers/entries/fork-child.js single' }),
        close: stopAll,
      };
    },
  };
}

export const PROCESS_PRIMITIVES: readonly Primitive[] = [
  ipcRoundTrip('json'),
  ipcRoundTrip('advanced'),
  handlePass,
  forkChildren(1),
  forkChildren(FORK_BURST),
];
