/**
 * The load drivers, like Node core's benchmark tool registry: each says whether it is present, which protocol it
 * drives, and the command line of its entry (which prints the CONBENCH_* lines). The orchestrator knows nothing else
 * about them. For TCP the native C driver is preferred; the Node client is the fallback where there is no compiler.
 */
import type { Protocol } from '../servers/protocol.js';
import { compiled } from '../lib/paths.js';
import type { Availability } from '../servers/registry.js';
import { wrkAvailable } from './http-wrk.js';
import {
  nativeDriverStatus,
  nativeLoadArgs,
  NATIVE_RESULT_PREFIX,
  toLoadResult,
  type NativeRawResult,
} from './native-tcp.js';
import { nativeBinary, TCP_LOAD } from '../lib/native.js';
import { RESULT_PREFIX } from './line-protocol.js';
import type { LoadResult } from './load-result.js';
import type { LoadParams } from './load-params.js';
import type { VerifyMode } from './requests-file.js';

export type { Availability };

/**
 * What the bench asks a driver for: the load parameters without the in-process phase callback, and (--handler) the
 * requests file it sends and checks the answers against.
 */
export type LoadSpec = Omit<LoadParams, 'onPhase'> & { requestsFile?: string; verify?: VerifyMode };

/** A driver's process: its command line, and how its one result line becomes a LoadResult (converted once, here). */
export interface DriverCommand {
  command: string;
  args: string[];
  /** The prefix of the line holding its result as JSON. */
  resultPrefix: string;
  toResult(json: unknown): LoadResult;
  /** After its window it keeps the connections open until its stdin ends (tcp-load --linger). */
  lingers?: boolean;
}

export interface Driver {
  name: string;
  protocol: Protocol;
  description: string;
  present(): Availability;
  command(spec: LoadSpec): DriverCommand;
}

const nodeEntry = (file: string): string => compiled(`clients/${file}`);

function commonArgs(s: LoadSpec): string[] {
  const args = [
    '--target',
    `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`,
    '--connections',
    String(s.connections),
    '--size',
    String(s.payloadBytes),
    '--duration',
    String(s.durationSec),
    '--warmup',
    String(s.warmupSec),
    '--timeout',
    String(s.timeoutMs),
    '--json',
  ];
  if (s.rate !== undefined) args.push('--rate', String(s.rate));
  if (s.seed !== undefined) args.push('--seed', String(s.seed));
  return args;
}

/** A Node entry printing CONBENCH_RESULT {LoadResult}. */
function nodeCommand(args: string[]): DriverCommand {
  return { command: process.execPath, args, resultPrefix: RESULT_PREFIX, toResult: (json) => json as LoadResult };
}

function tcpArgs(s: LoadSpec): string[] {
  const args = [
    nodeEntry('tcp-cli.js'),
    ...commonArgs(s),
    '--driver',
    'node',
    '--in-flight',
    String(s.inFlight),
    '--pattern',
    s.pattern,
  ];
  if (s.readyConnections !== undefined) args.push('--ready-connections', String(s.readyConnections));
  if (s.readyTimeoutSec !== undefined) args.push('--ready-timeout', String(s.readyTimeoutSec));
  if (s.requestsFile !== undefined)
    args.push('--requests', s.requestsFile, ...(s.verify ? ['--verify', s.verify] : []));
  return args;
}

export const DRIVERS: readonly Driver[] = [
  {
    name: 'native',
    protocol: 'tcp',
    description:
      "C epoll driver (clients/native/tcp-load.c): verifies every byte at a fraction of the Node client's CPU",
    present: () => {
      const s = nativeDriverStatus();
      return s.ok ? { ok: true } : s;
    },
    // Spawned directly: no Node process in between, and its output converted once (toLoadResult).
    // --linger: the server is sampled whole before the connections close (bench/run/client-process.ts ends stdin then).
    command: (s) => ({
      command: nativeBinary(TCP_LOAD),
      args: nativeLoadArgs({ ...s, lingerSec: LINGER_LIMIT_SEC }),
      lingers: true,
      resultPrefix: NATIVE_RESULT_PREFIX,
      toResult: (json) => toLoadResult(json as NativeRawResult),
    }),
  },
  {
    name: 'node',
    protocol: 'tcp',
    description: 'the Node TCP client (clients/tcp.ts): one JS thread, saturates near 100k msgs/s here',
    present: () => ({ ok: true }),
    command: (s) => nodeCommand(tcpArgs(s)),
  },
  {
    name: 'autocannon',
    protocol: 'http',
    description: 'autocannon through its API (whole-ms latency)',
    present: () => ({ ok: true }),
    command: (s) =>
      nodeCommand([
        nodeEntry('http-cli.js'),
        ...commonArgs(s),
        '--driver',
        'autocannon',
        '--pipelining',
        String(s.inFlight),
        '--pattern',
        s.pattern,
      ]),
  },
  {
    name: 'wrk',
    protocol: 'http',
    description: 'wrk (Debian package) with a Lua summary (µs latency)',
    present: () => {
      const w = wrkAvailable();
      return w.ok ? { ok: true } : w;
    },
    command: (s) => nodeCommand([nodeEntry('http-cli.js'), ...commonArgs(s), '--driver', 'wrk']),
  },
  {
    name: 'udp',
    protocol: 'udp',
    description: 'our verifying UDP client (loss, duplicates, reordering counted)',
    present: () => ({ ok: true }),
    command: (s) => nodeCommand([nodeEntry('udp-cli.js'), ...commonArgs(s), '--in-flight', String(s.inFlight)]),
  },
];

/** The longest a lingering driver waits for the bench to end its stdin: a bench that never does costs this, not a hang. */
const LINGER_LIMIT_SEC = 10;

/** Drivers whose unavailability falls back to another, with the fallback. */
const FALLBACK: Record<string, string> = { native: 'node' };

export function findDriver(name: string): Driver | undefined {
  return DRIVERS.find((d) => d.name === name);
}

/** The driver used for a protocol when none is named: the first listed, i.e. the preferred one. */
export function defaultDriver(protocol: Protocol): string {
  return DRIVERS.find((d) => d.protocol === protocol)?.name ?? protocol;
}

/**
 * The driver that will actually run when `name` was a default (not asked for by name): the preferred one if present,
 * else its fallback, with the reason. A driver named by the user is never swapped.
 */
export function resolveDefaultDriver(name: string): { driver: string; fellBack?: string } {
  const driver = findDriver(name);
  const fallback = FALLBACK[name];
  const present = driver?.present();
  if (!fallback || !present || present.ok) return { driver: name };
  return { driver: fallback, fellBack: `the ${name} driver is unavailable (${present.reason}); using ${fallback}` };
}
