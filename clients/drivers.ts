/**
 * The load drivers, like Node core's benchmark tool registry: each says whether it is present, which protocol it
 * drives, and the command line of its entry (which prints the CONBENCH_* lines). The orchestrator knows nothing else
 * about them.
 */
import type { Protocol } from '../servers/protocol.js';
import type { ConnectionPattern } from './tcp.js';
import { compiled } from '../servers/paths.js';
import type { Availability } from '../servers/registry.js';
import { wrkAvailable } from './http-wrk.js';

export type { Availability };

export interface LoadSpec {
  host: string;
  port: number;
  connections: number;
  inFlight: number;
  payloadBytes: number;
  pattern: ConnectionPattern;
  rate?: number;
  warmupSec: number;
  durationSec: number;
  timeoutMs: number;
}

export interface Driver {
  name: string;
  protocol: Protocol;
  present(): Availability;
  command(spec: LoadSpec): { command: string; args: string[] };
}

const nodeEntry = (file: string): string => compiled(`clients/${file}`);

function commonArgs(s: LoadSpec): string[] {
  const args = [
    '--target', `${s.host}:${s.port}`,
    '--connections', String(s.connections),
    '--size', String(s.payloadBytes),
    '--duration', String(s.durationSec),
    '--warmup', String(s.warmupSec),
    '--timeout', String(s.timeoutMs),
    '--json',
  ];
  if (s.rate !== undefined) args.push('--rate', String(s.rate));
  return args;
}

export const DRIVERS: readonly Driver[] = [
  {
    name: 'tcp',
    protocol: 'tcp',
    present: () => ({ ok: true }),
    command: (s) => ({
      command: process.execPath,
      args: [nodeEntry('tcp-cli.js'), ...commonArgs(s), '--in-flight', String(s.inFlight), '--pattern', s.pattern],
    }),
  },
  {
    name: 'autocannon',
    protocol: 'http',
    present: () => ({ ok: true }),
    command: (s) => ({
      command: process.execPath,
      args: [nodeEntry('http-cli.js'), ...commonArgs(s), '--driver', 'autocannon', '--pipelining', String(s.inFlight), '--pattern', s.pattern],
    }),
  },
  {
    name: 'wrk',
    protocol: 'http',
    present: () => {
      const w = wrkAvailable();
      return w.ok ? { ok: true } : w;
    },
    command: (s) => ({
      command: process.execPath,
      args: [nodeEntry('http-cli.js'), ...commonArgs(s), '--driver', 'wrk'],
    }),
  },
  {
    name: 'udp',
    protocol: 'udp',
    present: () => ({ ok: true }),
    command: (s) => ({
      command: process.execPath,
      args: [nodeEntry('udp-cli.js'), ...commonArgs(s), '--in-flight', String(s.inFlight)],
    }),
  },
];

export function findDriver(name: string): Driver | undefined {
  return DRIVERS.find((d) => d.name === name);
}

/** The driver used for a protocol when none is named. */
export function defaultDriver(protocol: Protocol): string {
  return DRIVERS.find((d) => d.protocol === protocol)?.name ?? protocol;
}
