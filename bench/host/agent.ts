/**
 * The serve agent: on the server host, starts and stops registered models for a bench on another host, reports
 * their ready lines, and samples their CPU and RSS over the measured window, exactly as the local bench does
 * (it is `localHost` behind a socket). Secure by default: nothing but `hello` with the right token (compared in
 * constant time) is answered, it listens only where told and its servers listen on that address too, every start
 * request is validated by serve's own option checks, one bench is served at a time, and every server a bench
 * started is stopped when its connection ends or the agent stops.
 */
import net from 'node:net';
import { UsageError, isUsageError } from '../../lib/cli-args.js';
import { serveOptionsFromText } from '../../servers/serve-options.js';
import { formatWork } from '../../servers/work.js';
import { bootId, captureEnvironment } from '../run/env.js';
import type { CpuSplit } from '../run/pinning.js';
import type { PinMode } from '../data/record.js';
import { localHost, type ServerHandle, type ServerSampler } from '../run/server-host.js';
import {
  encode,
  PIN_MODES,
  readJsonLines,
  tokenMatches,
  type Answers,
  type ErrorKind,
  type Reply,
  type Request,
  type Welcome,
} from './agent-protocol.js';

/** serve's flags a bench may set; host and port are the agent's to decide. */
export const REMOTE_FLAGS: readonly string[] = [
  'model',
  'protocol',
  'work',
  'workers',
  'max-children',
  'cpu-rate',
  'inject-cpu',
];
const HELLO_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 2000;

export interface AgentOptions {
  host: string;
  port: number;
  token: string;
  log?: (line: string) => void;
}

export interface Agent {
  address: { host: string; port: number };
  /** Stops listening, drops every bench and stops every server they started. */
  close(): Promise<void>;
}

interface Running {
  handle: ServerHandle;
  sampler?: Promise<ServerSampler>;
}

interface Session {
  peer: string;
  socket: net.Socket;
  authed: boolean;
  closed: boolean;
  servers: Map<number, Running>;
  /** Requests are answered one at a time, in order. */
  queue: Promise<void>;
  /** Settles once the connection has ended and its servers are stopped. */
  done: Promise<void>;
}

function pinMode(value: unknown): PinMode {
  if (typeof value !== 'string' || !(PIN_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`pin must be one of ${PIN_MODES.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as PinMode;
}

/** The start options as serve's flag values: only REMOTE_FLAGS, each a string. */
function remoteValues(options: unknown): Partial<Record<string, string>> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new UsageError('options must be an object of serve flags');
  const values: Partial<Record<string, string>> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!(REMOTE_FLAGS as readonly string[]).includes(key)) {
      throw new UsageError(
        `option --${key} is not accepted by the agent (accepted: ${REMOTE_FLAGS.map((f) => `--${f}`).join(', ')})`,
      );
    }
    if (typeof value !== 'string')
      throw new UsageError(`option --${key} must be given as a string (got ${JSON.stringify(value)})`);
    values[key] = value;
  }
  return values;
}

export function startAgent(options: AgentOptions): Promise<Agent> {
  const log = options.log ?? (() => {});
  const env = captureEnvironment();
  const local = localHost(env.taskset);
  const splits = Object.fromEntries(PIN_MODES.map((m) => [m, local.cpuSplit(m)])) as Record<PinMode, CpuSplit>;
  const boot = bootId();
  const welcome: Welcome = { agent: env, splits, ...(boot !== undefined ? { bootId: boot } : {}) };
  const sessions = new Set<Session>();
  let active: Session | undefined;
  let nextServer = 1;

  async function stopAll(session: Session): Promise<void> {
    const running = [...session.servers.values()];
    session.servers.clear();
    await Promise.all(running.map((r) => stopRunning(r)));
    if (running.length > 0) log(`bench ${session.peer}: stopped ${running.length} server(s) it left running`);
  }

  async function stopRunning(r: Running, timeoutMs = STOP_TIMEOUT_MS): Promise<Answers['stop']> {
    await r.sampler?.then((s) => s.finish()).catch(() => undefined); // ends its polling timer
    return r.handle.stop(timeoutMs);
  }

  function running(session: Session, id: unknown): Running {
    const r = typeof id === 'number' ? session.servers.get(id) : undefined;
    if (!r) throw new UsageError(`no server ${JSON.stringify(id)} was started on this connection`);
    return r;
  }

  async function answer(
    session: Session,
    request: Partial<Request> & Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    switch (request.type) {
      case 'calibrate':
        return { cpuRate: await local.calibrateCpuRate(splits[pinMode(request.pin)]) } satisfies Answers['calibrate'];
      case 'start': {
        const split = splits[pinMode(request.pin)];
        const values = remoteValues(request.options);
        const o = serveOptionsFromText({
          ...values,
          workers: values.workers ?? String(split.serverCpuCount),
          host: options.host,
          port: '0',
        });
        const handle = await local.start({
          model: o.model.name,
          protocol: o.protocol,
          host: o.host,
          port: 0,
          work: formatWork(o.work),
          workers: o.workers,
          maxChildren: o.maxChildren,
          ...(o.cpuRate !== undefined ? { cpuRate: o.cpuRate } : {}),
          ...(o.injectMicros !== undefined ? { injectCpuMicros: o.injectMicros } : {}),
          ...(split.server !== undefined ? { cpus: split.server } : {}),
        });
        const id = nextServer++;
        session.servers.set(id, { handle });
        log(
          `bench ${session.peer}: started ${o.model.name} (${o.protocol}, work ${formatWork(o.work)}, ${handle.ready.workers} worker(s), CPUs ${split.server ?? 'all'}) on port ${handle.ready.port}`,
        );
        return { server: id, ready: handle.ready } satisfies Answers['start'];
      }
      case 'sample-start': {
        const r = running(session, request.server);
        if (r.sampler) throw new UsageError(`server ${request.server} is already being sampled`);
        r.sampler = r.handle.startSampler();
        await r.sampler;
        return {};
      }
      case 'sample-finish': {
        const r = running(session, request.server);
        if (!r.sampler) throw new UsageError(`server ${request.server} is not being sampled`);
        const sampler = r.sampler;
        delete r.sampler;
        const usage = await (await sampler).finish();
        return usage ? { usage } : {};
      }
      case 'stop': {
        const r = running(session, request.server);
        session.servers.delete(request.server as number);
        const timeoutMs =
          typeof request.timeoutMs === 'number' && request.timeoutMs > 0
            ? Math.min(request.timeoutMs, 60_000)
            : undefined;
        return { ...(await stopRunning(r, timeoutMs)) };
      }
      case 'hello':
        throw new UsageError('hello was already answered on this connection');
      default:
        throw new UsageError(`unknown request type ${JSON.stringify(request.type)}`);
    }
  }

  function onConnection(socket: net.Socket): void {
    let ended = (): void => {};
    const done = new Promise<void>((resolve) => (ended = resolve));
    const session: Session = {
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      socket,
      authed: false,
      closed: false,
      servers: new Map(),
      queue: Promise.resolve(),
      done,
    };
    sessions.add(session);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const send = (reply: Reply): void => {
      if (!socket.destroyed) socket.write(encode(reply));
    };
    const refuse = (id: number, kind: ErrorKind, error: string): void => {
      log(`bench ${session.peer} refused: ${error}`);
      send({ id, ok: false, kind, error });
      socket.end();
    };
    const helloTimer = setTimeout(
      () => refuse(0, 'auth', `no hello with the token within ${HELLO_TIMEOUT_MS / 1000} s`),
      HELLO_TIMEOUT_MS,
    );

    const handle = async (message: unknown): Promise<void> => {
      if (session.closed) return;
      const request = (typeof message === 'object' && message !== null ? message : {}) as Partial<Request> &
        Record<string, unknown>;
      const id = typeof request.id === 'number' ? request.id : 0;
      if (!session.authed) {
        clearTimeout(helloTimer);
        if (request.type !== 'hello') return refuse(id, 'auth', 'the first request must be hello with the token');
        if (typeof request.token !== 'string' || request.token === '')
          return refuse(
            id,
            'auth',
            'no token given: this agent answers only requests with its token (bench: --agent-token-file FILE)',
          );
        if (!tokenMatches(request.token, options.token)) return refuse(id, 'auth', 'wrong token');
        if (active)
          return refuse(
            id,
            'failure',
            `busy: a bench from ${active.peer} is connected (one bench at a time, so runs do not disturb each other)`,
          );
        session.authed = true;
        active = session;
        log(`bench ${session.peer} connected`);
        return send({ id, ok: true, ...welcome });
      }
      try {
        send({ id, ok: true, ...(await answer(session, request)) });
      } catch (error) {
        send({ id, ok: false, kind: isUsageError(error) ? 'usage' : 'failure', error: (error as Error).message });
      }
    };

    readJsonLines(
      socket,
      (message) => {
        session.queue = session.queue.then(() => handle(message));
      },
      (why) => refuse(0, 'usage', `bad request: ${why}`),
    );
    socket.on('error', () => {}); // 'close' follows and cleans up
    socket.on('close', () => {
      clearTimeout(helloTimer);
      session.closed = true;
      if (active === session) {
        active = undefined;
        log(`bench ${session.peer} disconnected`);
      }
      // After the request being answered (a start may still be waiting for its ready line).
      void session.queue
        .then(() => stopAll(session))
        .finally(() => {
          sessions.delete(session);
          ended();
        });
    });
  }

  const server = net.createServer(onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as net.AddressInfo;
      resolve({
        address: { host: options.host, port },
        close: async () => {
          const closed = new Promise<void>((done) => server.close(() => done()));
          const ending = [...sessions];
          for (const s of ending) s.socket.destroy();
          await Promise.all([closed, ...ending.map((s) => s.done)]);
        },
      });
    });
  });
}
