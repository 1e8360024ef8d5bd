/**
 * A ServerHost on a serve agent's machine (bench/host/agent.ts): servers are started, sampled and stopped there over one
 * connection; drivers here target the agent's address. The agent pins servers with its own CPU split; the client
 * here is left unpinned, since it no longer shares a machine with the server.
 */
import net from 'node:net';
import { UsageError } from '../../lib/cli-args.js';
import { encode, readJsonLines, type Answers, type Reply, type Request, type Welcome } from './agent-protocol.js';
import type { CpuSplit } from '../run/pinning.js';
import type { AgentHost, PinMode } from '../data/record.js';
import { bootId } from '../run/env.js';
import type { ServerLaunch } from '../run/server-process.js';
import type { ServerHandle, ServerHost } from '../run/server-host.js';

export interface AgentAddress {
  host: string;
  port: number;
  /** Sent in hello; without it the agent refuses the connection (and says so). */
  token?: string;
}

const CONNECT_TIMEOUT_MS = 10_000;

type Call = <T extends Request['type']>(
  request: Omit<Extract<Request, { type: T }>, 'id'> & { type: T },
) => Promise<Answers[T]>;

/**
 * One request at a time is enough for the bench, but ids keep answers matched to questions regardless. The socket
 * keeps the process alive only while an answer is awaited: a bench that ends (or fails) exits without closing
 * it first, and the agent, seeing the connection end, stops what it started.
 */
function channel(socket: net.Socket, where: string): { call: Call; closed: Promise<void>; isOpen(): boolean } {
  const pending = new Map<number, { resolve: (answer: never) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let gone: Error | undefined;
  const fail = (error: Error): void => {
    gone ??= error;
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  };
  const refusal = (reply: Extract<Reply, { ok: false }>): Error => {
    const text = `agent ${where}: ${reply.error}`;
    return reply.kind === 'failure' ? new Error(text) : new UsageError(text);
  };
  readJsonLines(
    socket,
    (message) => {
      const reply = message as Reply;
      const p = pending.get(reply.id);
      if (!p) {
        if (!reply.ok) fail(refusal(reply)); // about the connection, not one request (e.g. a hello timeout)
        return;
      }
      pending.delete(reply.id);
      if (pending.size === 0) socket.unref();
      if (reply.ok) p.resolve(reply as never);
      else p.reject(refusal(reply));
    },
    (why) => {
      fail(new Error(`agent ${where} sent ${why}`));
      socket.destroy();
    },
  );
  const closed = new Promise<void>((resolve) => {
    socket.on('error', (error) =>
      fail(new Error(`agent ${where}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)),
    );
    socket.on('close', () => {
      fail(new Error(`agent ${where} closed the connection`));
      resolve();
    });
  });
  const call: Call = (request) =>
    new Promise((resolve, reject) => {
      if (gone) return reject(gone);
      const id = nextId++;
      if (pending.size === 0) socket.ref();
      pending.set(id, { resolve: resolve as (answer: never) => void, reject });
      socket.write(encode({ ...request, id } as Request));
    });
  return { call, closed, isOpen: () => gone === undefined };
}

function connect(address: AgentAddress): Promise<net.Socket> {
  const where = `${address.host}:${address.port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`could not reach the agent at ${where} within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setKeepAlive(true, 10_000);
      socket.unref();
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`could not reach the agent at ${where}: ${error.code ?? error.message}`));
    });
  });
}

/** serve's flags for a launch; what the agent decides itself (host, port, CPUs) is not sent. */
function launchOptions(launch: ServerLaunch): Record<string, string> {
  const options: Record<string, string> = { model: launch.model };
  if (launch.protocol !== undefined) options.protocol = launch.protocol;
  if (launch.work !== undefined) options.work = launch.work;
  if (launch.workers !== undefined) options.workers = String(launch.workers);
  if (launch.maxChildren !== undefined) options['max-children'] = String(launch.maxChildren);
  if (launch.cpuRate !== undefined) options['cpu-rate'] = String(launch.cpuRate);
  if (launch.injectCpuMicros !== undefined) options['inject-cpu'] = String(launch.injectCpuMicros);
  return options;
}

/** Connects and authenticates; rejects with the agent's own words when it refuses (a UsageError: bad token). */
export async function connectAgent(address: AgentAddress): Promise<ServerHost> {
  const where = `${address.host}:${address.port}`;
  const socket = await connect(address);
  const { call, closed, isOpen } = channel(socket, where);
  let welcome: Welcome;
  try {
    welcome = await call({ type: 'hello', ...(address.token !== undefined ? { token: address.token } : {}) });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const here = bootId();
  const agent: AgentHost = {
    ...welcome.agent,
    address: where,
    sameMachine: here !== undefined && welcome.bootId === here,
  };
  const split = (mode: PinMode): CpuSplit => {
    const there = welcome.splits[mode];
    const server = there.server !== undefined ? `CPU ${there.server}` : 'unpinned';
    return {
      mode: there.mode,
      ...(there.server !== undefined ? { server: there.server } : {}),
      serverCpuCount: there.serverCpuCount,
      describe: `server on agent ${where} (${agent.hostname}, ${server} of ${agent.cores}), client here unpinned`,
    };
  };
  return {
    describe: `agent ${where} (${agent.hostname})`,
    agent,
    cpuSplit: split,
    calibrateCpuRate: async (s) => (await call({ type: 'calibrate', pin: s.mode })).cpuRate,
    async start(launch): Promise<ServerHandle> {
      const { server, ready } = await call({ type: 'start', pin: launch.pin ?? 'off', options: launchOptions(launch) });
      return {
        ready,
        host: address.host,
        agent,
        // Never rejects (nothing may await it if the run fails first); a failure surfaces from finish().
        startSampler: async () => {
          const failed = await call({ type: 'sample-start', server }).then(
            () => undefined,
            (error: Error) => error,
          );
          return {
            finish: async () => {
              if (failed) throw failed;
              return (await call({ type: 'sample-finish', server })).usage;
            },
          };
        },
        // With the connection gone the agent has stopped the server already (it stops whatever a bench leaves).
        stop: async (timeoutMs) =>
          isOpen()
            ? call({ type: 'stop', server, ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
            : { code: null, signal: null, forced: false },
      };
    },
    async close() {
      socket.end();
      await closed;
    },
  };
}
