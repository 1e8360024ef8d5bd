/**
 * Starts a model's server as its own process (optionally pinned with taskset), waits for its ready line, and stops
 * it: SIGTERM, then SIGKILL to the whole process group if it has not exited in time. Used by the orchestrator and
 * by the tests, so both start servers exactly the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseReadyLine, type Protocol, type ReadyInfo } from '../../servers/protocol.js';
import { findModel } from '../../servers/registry.js';
import { nativeArgs, nativeEnv } from '../../servers/native/args.js';
import path from 'node:path';
import { compiled, PROJECT_ROOT } from '../../lib/paths.js';
import { track, untrack } from '../../lib/lifecycle.js';
import { groupProcesses, guardMemory } from './memory.js';
import { freePort, portFromLine, probe, withPort } from './external-server.js';
import type { PinMode } from '../data/record.js';

export const SERVE_ENTRY = compiled('servers/serve.ts');

export interface ServerLaunch {
  model: string;
  protocol?: Protocol;
  host?: string;
  port?: number;
  work?: string;
  workers?: number;
  maxChildren?: number;
  cpuRate?: number;
  /** The gate's test knob: µs of extra busy work per message (see servers/handler.ts). */
  injectCpuMicros?: number;
  /** CPU list for taskset -c, e.g. "0" or "0,1"; undefined runs unpinned. */
  cpus?: string;
  /** The pin mode `cpus` came from: a serve agent applies its own split for it instead of `cpus`. */
  pin?: PinMode;
  readyTimeoutMs?: number;
  /** Extra environment (e.g. NODE_CLUSTER_SCHED_POLICY is set by models themselves, not here). */
  env?: NodeJS.ProcessEnv;
  /** Run under valgrind's callgrind (npm run bench -- --counts): the whole process tree counted, dumps into `dir`. */
  callgrind?: CallgrindLaunch;
  /** Another build's project root (--against: the base's); its dist/ holds the servers. Default: this one. */
  root?: string;
  /** The memory guard's cap on the server's process tree (PSS, bytes); undefined: no guard. */
  memoryCapBytes?: number;
  /** A command of its own instead of the registered model's (`model` then only names it). */
  command?: { command: string; args: string[] };
  /**
   * A server brought from outside (bench/run/external-server.ts): run by `/bin/sh -c` in `cwd`, ready once it
   * answers its protocol on its port (given to it for `{port}`, or the first integer it prints).
   */
  external?: { command: string; httpPath?: string; cwd?: string };
}

/** How a counted server is started (bench/run/counts.ts chooses these settings). */
export interface CallgrindLaunch {
  /** Folder for the dump files (cg.<pid>, cg.<pid>.<n>). */
  dir: string;
  /** valgrind options after --tool=callgrind. */
  valgrindArgs: readonly string[];
  /**
   * Node/V8 flags (seeds, …) for the server's node: NODE_OPTIONS refuses most V8 flags, but cluster workers and forked
   * children inherit the parent's execArgv, and worker threads share its V8 flags, so the whole tree gets them.
   */
  nodeFlags: readonly string[];
  /** Run without address-space randomization (setarch -R). */
  noAslr: boolean;
  /** Under valgrind a server takes 10–60 s to report ready. */
  readyTimeoutMs: number;
  /** Environment for the counted tree (the models' own start-up timeouts, scaled). */
  env: NodeJS.ProcessEnv;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  ready: ReadyInfo;
  pid: number;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far (for error messages). */
  stderr(): string;
  /** How it ended, once it has (before stop() was asked: it died). */
  exitInfo(): ExitInfo | undefined;
  /** Resolves when it exits. */
  exited: Promise<ExitInfo>;
  /** Why the bench stopped it on its own (the memory guard), if it did. */
  stoppedBecause(): string | undefined;
  /** SIGTERM, wait, SIGKILL the group if needed. Resolves with how it ended. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }>;
}

/** The command a registered model's server runs as (before valgrind and taskset wrap it). */
function modelCommand(launch: ServerLaunch): { command: string; args: string[] } {
  const model = findModel(launch.model);
  const host = launch.host ?? '127.0.0.1';
  const port = launch.port ?? 0;
  const work = launch.work ?? 'none';
  let command: string;
  let args: string[];
  // Another build's programs sit at the same places under its own root.
  const fromRoot = (file: string): string =>
    launch.root ? path.join(launch.root, path.relative(PROJECT_ROOT, file)) : file;
  if (model.runtime === 'native') {
    command = fromRoot(model.binary());
    args = nativeArgs({ model: model.name, host, port, work });
  } else {
    command = process.execPath;
    args = [
      ...(launch.callgrind?.nodeFlags ?? []),
      fromRoot(SERVE_ENTRY),
      '--model',
      model.name,
      '--protocol',
      launch.protocol ?? 'tcp',
      '--host',
      host,
      '--port',
      String(port),
      '--work',
      work,
    ];
    if (launch.workers !== undefined) args.push('--workers', String(launch.workers));
    if (launch.maxChildren !== undefined) args.push('--max-children', String(launch.maxChildren));
    if (launch.cpuRate !== undefined) args.push('--cpu-rate', String(launch.cpuRate));
    if (launch.injectCpuMicros !== undefined) args.push('--inject-cpu', String(launch.injectCpuMicros));
  }
  return { command, args };
}

export function serverCommand(launch: ServerLaunch): { command: string; args: string[] } {
  let { command, args } = launch.command ?? modelCommand(launch);
  if (launch.callgrind) {
    const cg = launch.callgrind;
    const valgrind = [
      'valgrind',
      '--tool=callgrind',
      `--callgrind-out-file=${cg.dir}/cg.%p`,
      ...cg.valgrindArgs,
      command,
      ...args,
    ];
    const wrapped = cg.noAslr ? ['setarch', '-R', ...valgrind] : valgrind;
    command = wrapped[0]!;
    args = wrapped.slice(1);
  }
  if (launch.cpus !== undefined) return { command: 'taskset', args: ['-c', launch.cpus, command, ...args] };
  return { command, args };
}

export async function startServer(given: ServerLaunch): Promise<ServerProcess> {
  const external = given.external;
  const givenPort = external?.command.includes('{port}') ? await freePort() : undefined;
  const launch: ServerLaunch = external
    ? {
        ...given,
        command: {
          command: '/bin/sh',
          args: ['-c', givenPort !== undefined ? withPort(external.command, givenPort)! : external.command],
        },
      }
    : given;
  const { command, args } = serverCommand(launch);
  // detached: the server leads its own process group, so a forced stop reaches its workers and children too.
  // nativeEnv: the native server stops when this process dies (Node servers watch their parent themselves).
  const env = { ...process.env, ...launch.env, ...launch.callgrind?.env, ...nativeEnv() };
  const child = track(
    spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env,
      ...(external?.cwd ? { cwd: external.cwd } : {}),
    }),
    {
      group: true,
    },
  );
  // What a server writes is kept up to a bound and the rest read and dropped: a server that floods stderr or stdout
  // must neither fill the bench's memory nor block on a full pipe.
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 64_000) stderr += d.slice(0, 64_000 - stderr.length);
  });
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const guard =
    launch.memoryCapBytes !== undefined && child.pid !== undefined
      ? guardMemory(child.pid, launch.memoryCapBytes, () => killGroup(child.pid!))
      : undefined;
  void exited.then(() => guard?.stop());

  const stop: ServerProcess['stop'] = async (timeoutMs = 8000) => {
    const ended = (result: ExitInfo & { forced: boolean }): typeof result => {
      killGroup(child.pid!); // anything the server failed to reap (or left behind when it died)
      untrack(child);
      return result;
    };
    if (child.pid === undefined) return { code: null, signal: null, forced: false };
    if (external) return ended(await stopGroup(child.pid, exited, timeoutMs));
    if (child.exitCode !== null || child.signalCode !== null)
      return ended({ code: child.exitCode, signal: child.signalCode, forced: false });
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return ended({ ...first, forced: false });
    killGroup(child.pid);
    return ended({ ...(await exited), forced: true });
  };

  return new Promise((resolve, reject) => {
    const timeoutMs = launch.readyTimeoutMs ?? launch.callgrind?.readyTimeoutMs ?? 15_000;
    // Before its ready line a server's stdout is read line by line, at most READY_SEARCH_BYTES of it; after, drained.
    let searched = 0;
    let received = 0;
    let isReady = false;
    // An external server's port, once known, and why it did not answer yet (for the timeout's message).
    let probing: { port: number; last: string } | undefined;
    const timer = setTimeout(() => {
      void stop(1000);
      const why = probing
        ? `did not answer ${launch.protocol ?? 'tcp'} on port ${probing.port} within ${timeoutMs} ms (${probing.last})${givenPort === undefined ? '' : '; a server that listens on a port of its own choosing: leave {port} out of its command and print the port on its first line'}`
        : external
          ? `printed no port within ${timeoutMs} ms (without {port} in its command, its first line of output must name the port it listens on)`
          : `did not report ready within ${timeoutMs} ms`;
      reject(new Error(`${launch.model} ${why}${tail(stderr)}`));
    }, timeoutMs);
    const serverProcess = (ready: ReadyInfo): ServerProcess => ({
      ready,
      pid: child.pid!,
      child,
      stderr: () => stderr,
      stop,
      exited,
      exitInfo: () => exitInfo,
      stoppedBecause: () => guard?.tripped(),
    });
    // Ready when it answers one request of its protocol, tried every 100 ms.
    const probeUntilReady = async (port: number): Promise<void> => {
      probing = { port, last: 'nothing accepted the connection yet' };
      for (;;) {
        if (exitInfo) return;
        const why = await probe(launch.protocol ?? 'tcp', '127.0.0.1', port, external?.httpPath);
        if (why === undefined) break;
        probing.last = why;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (exitInfo) return;
      clearTimeout(timer);
      isReady = true;
      resolve(
        serverProcess({
          model: launch.model,
          protocol: launch.protocol ?? 'tcp',
          host: '127.0.0.1',
          port,
          pid: child.pid!,
          workers: 1,
          work: 'none',
          details: { external: external!.command },
        }),
      );
    };
    if (givenPort !== undefined) void probeUntilReady(givenPort);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${launch.model}: ${error.message}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${launch.model} exited before ready (code ${code}, signal ${signal})${tail(stderr)}`));
    });
    // Before its ready line a server's stdout is read line by line, at most READY_SEARCH_BYTES of it; after, it is
    // drained unread.
    const lines = createInterface({ input: child.stdout! });
    const giveUp = (why: string): void => {
      clearTimeout(timer);
      lines.close();
      child.stdout!.resume();
      void stop(1000);
      reject(new Error(`${launch.model} ${why}${tail(stderr)}`));
    };
    lines.on('line', (line) => {
      searched += line.length + 1;
      if (external) {
        // Without {port}: the first line names the port; the rest of its output is drained unread.
        if (probing || givenPort !== undefined) return;
        const port = portFromLine(line);
        if (port === undefined)
          giveUp(
            `printed "${line.slice(0, 80)}" first, which names no port (without {port} in its command, its first line must)`,
          );
        else void probeUntilReady(port);
        return;
      }
      const ready = parseReadyLine(line);
      if (!ready) {
        if (searched > READY_SEARCH_BYTES) giveUp(`wrote ${searched} bytes to stdout without a ready line`);
        return;
      }
      isReady = true;
      clearTimeout(timer);
      lines.close();
      child.stdout!.resume();
      resolve(serverProcess(ready));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      // A line that never ends is not seen by 'line': count what arrives.
      received += chunk.length;
      if (!isReady && received > READY_SEARCH_BYTES * 2) {
        isReady = true; // once: what follows is drained
        giveUp(`wrote ${received} bytes to stdout without a ready line`);
      }
    });
  });
}

/**
 * A server from outside runs under `/bin/sh -c`, which does not pass SIGTERM on: the whole process group gets it,
 * and the server has stopped when no process of the group is left; past `timeoutMs` the group is killed.
 */
async function stopGroup(
  pgid: number,
  exited: Promise<ExitInfo>,
  timeoutMs: number,
): Promise<ExitInfo & { forced: boolean }> {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (groupProcesses(pgid).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const forced = groupProcesses(pgid).length > 0;
  if (forced) killGroup(pgid);
  return { ...(await exited), forced };
}

/** How much of a server's stdout is searched for its ready line. */
const READY_SEARCH_BYTES = 1 << 20;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

function tail(stderr: string): string {
  const text = stderr.trim();
  return text ? `: ${text.split('\n').slice(-5).join(' | ')}` : '';
}
