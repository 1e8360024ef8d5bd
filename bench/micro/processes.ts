/**
 * Process primitives: the child_process IPC round trip (json and advanced serialization), handing a socket to a
 * child (what fork-pool and cluster-rr do once per connection), and fork() to first message (what
 * fork-per-connection pays per connection), the last one with the real fork-child entry of the fork models.
 */
import net from 'node:net';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { FnReturnedObject } from 'tinybench';
import { FORK_CHILD_ENTRY } from '../../servers/models/fork-pool.js';
import { childEnv } from '../../servers/entries/child-config.js';
import { stopChild, waitForReady } from '../../servers/models/supervise.js';
import { listenOn } from '../../servers/listen.js';
import { reapedChildrenCpuUs } from '../sampler.js';
import { ownCpuUs } from './measure.js';
import { startMicroChild } from './peer.js';
import type { Fixture, Primitive } from './primitive.js';

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

const forkStart: Primitive = {
  id: 'fork-start',
  title: 'fork() to first message',
  op: "fork the fork models' child entry, wait for its ready message; then disconnect it and wait for its exit",
  minSamples: 16,
  async setup(): Promise<Fixture> {
    const env = childEnv({ protocol: 'tcp', host: '127.0.0.1', port: 0, work: { kind: 'none' } });
    const live = new Set<ReturnType<typeof fork>>();
    return {
      // Latency: fork to the ready message. CPU: the whole life of the child (start, ready, exit) plus the parent's part.
      fn: async (): Promise<FnReturnedObject> => {
        const t0 = performance.now();
        const child = fork(FORK_CHILD_ENTRY, ['single'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        live.add(child);
        try {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          await waitForReady(child, 'fork-child', 15_000);
          const ready = performance.now() - t0;
          child.disconnect(); // a single-connection child exits when its parent lets go
          await exited;
          return { overriddenDuration: ready, overriddenIterationCost: performance.now() - t0 };
        } finally {
          live.delete(child);
          await stopChild(child);
        }
      },
      async: true,
      cpu: async () => ({ parent: ownCpuUs(), children: reapedChildrenCpuUs() }),
      details: () => ({ entry: 'servers/entries/fork-child.js single', cpuResolution: 'children: 10 ms ticks, over all samples' }),
      close: async () => {
        await Promise.all([...live].map((c) => stopChild(c)));
      },
    };
  },
};

/** fork-per-connection's default cap: the burst its first connections cause. */
export const FORK_BURST = 32;

const forkBurst: Primitive = {
  id: 'fork-burst',
  title: `${FORK_BURST} × fork() at once to every first message`,
  op: `fork ${FORK_BURST} of the fork models' child entry together, wait until all are ready; then disconnect them and wait for their exits`,
  minSamples: 4,
  async setup(): Promise<Fixture> {
    const env = childEnv({ protocol: 'tcp', host: '127.0.0.1', port: 0, work: { kind: 'none' } });
    const live = new Set<ReturnType<typeof fork>>();
    const startOne = async (): Promise<void> => {
      const child = fork(FORK_CHILD_ENTRY, ['single'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      live.add(child);
      await waitForReady(child, 'fork-child', 60_000); // on failure, the burst's finally stops every child
    };
    const stopAll = async (): Promise<void> => {
      const children = [...live];
      live.clear();
      await Promise.all(children.map((c) => stopChild(c)));
    };
    return {
      // Latency: the burst until its last child is ready (what the first connections of fork-per-connection wait).
      fn: async (): Promise<FnReturnedObject> => {
        const t0 = performance.now();
        try {
          await Promise.all(Array.from({ length: FORK_BURST }, startOne));
          const ready = performance.now() - t0;
          const exits = [...live].map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
          for (const c of live) c.disconnect();
          await Promise.all(exits);
          return { overriddenDuration: ready, overriddenIterationCost: performance.now() - t0 };
        } finally {
          await stopAll();
        }
      },
      async: true,
      cpu: async () => ({ parent: ownCpuUs(), children: reapedChildrenCpuUs() }),
      details: () => ({ children: FORK_BURST, entry: 'servers/entries/fork-child.js single' }),
      close: stopAll,
    };
  },
};

export const PROCESS_PRIMITIVES: readonly Primitive[] = [ipcRoundTrip('json'), ipcRoundTrip('advanced'), handlePass, forkStart, forkBurst];
