/**
 * The workload axes, each described once: its flag and --set keys, how a typed value is checked, its value in a
 * workload that does not set it, how it names a swept workload ("c100", "4KiB"), how a table header describes it,
 * and its CSV column (its key). Workload families (workloads.ts), the matrix expansion, the bench's and the
 * export's flags, the table headers and the CSV are all generated from this list, in this order.
 */
import { UsageError } from '../../lib/cli-args.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { oneOfChoices, type OptionSpec } from '../../lib/options.js';
import { formatRate, formatSize, parseSize } from '../../lib/format/units.js';
import { MAX_PAYLOAD_BYTES, PROTOCOLS, type Protocol } from '../../servers/protocol.js';
import { parseWorkSpec } from '../../servers/work.js';
import { DRIVERS } from '../../clients/drivers.js';
import { PATTERNS, type ConnectionPattern } from '../../clients/tcp.js';

export type PinMode = 'separate' | 'shared' | 'off';
export const PIN_MODES: readonly PinMode[] = ['separate', 'shared', 'off'];

/** One workload's parameters: the value of every axis. */
export interface WorkloadParams {
  protocol: Protocol;
  connections: number;
  inFlight: number;
  payloadBytes: number;
  work: string;
  pattern: ConnectionPattern;
  /** Open loop total rate; absent = closed loop. */
  rate?: number;
  /** How CPUs are split between server and client. */
  pin: PinMode;
  /** Load driver (native, node, autocannon, wrk, udp). */
  driver: string;
}

export type AxisKey = keyof WorkloadParams;

/** An axis: the option that overrides it, plus what a workload and its reports need to know of it. */
export interface Axis<K extends AxisKey> {
  /** The option (flag, help, parser) that sets this axis for every workload of a profile. */
  option: OptionSpec<WorkloadParams[K] | WorkloadParams[K][]>;
  /** More names for --set KEY=VALUE besides the key and the flag. */
  setAliases?: readonly string[];
  /** Its value in a workload that does not set it (undefined: unset, e.g. no open-loop rate). */
  base: WorkloadParams[K] | undefined;
  /** How a swept value names its workload: "c100", "4KiB", "d16". */
  label(value: WorkloadParams[K]): string;
  /** Its part of a table header ("50 conn"), or undefined when another axis says it or it goes without saying. */
  describe(value: WorkloadParams[K], params: WorkloadParams): string | undefined;
  /** Shown in the header's help section: where a flag belongs among the bench's options. */
  section: 'choose' | 'workload' | 'measure';
}

function integerIn(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got "${text}")`);
  return value;
}

/** The whole table, in the order axes name workloads and fill CSV columns. */
export const AXES: { readonly [K in AxisKey]-?: Axis<K> } = {
  protocol: {
    option: {
      flag: 'protocol',
      kind: 'value',
      meta: 'P',
      help: "tcp (default), http or udp: runs the profile's workloads over that protocol",
      parse: (t, f) => oneOfChoices(t, f, PROTOCOLS),
    },
    base: 'tcp',
    label: String,
    describe: (v) => v,
    section: 'choose',
  },
  connections: {
    option: {
      flag: 'connections',
      kind: 'value',
      meta: 'N',
      help: 'concurrent connections',
      parse: (t, f) => integerIn(t, f, 1, 100_000),
    },
    base: DEFAULTS.connections,
    label: (v) => `c${v}`,
    describe: (v) => `${v} conn`,
    section: 'workload',
  },
  inFlight: {
    option: {
      flag: 'in-flight',
      kind: 'value',
      meta: 'D',
      help: 'frames in flight per connection (closed loop)',
      parse: (t, f) => integerIn(t, f, 1, 10_000),
    },
    setAliases: ['inflight'],
    base: DEFAULTS.inFlight,
    label: (v) => `d${v}`,
    // The loop's shape goes here, where a reader looks for it: connect-per-request, open loop at a rate, or frames in flight.
    describe: (v, p) =>
      p.pattern === 'connect-per-request'
        ? p.pattern
        : p.rate !== undefined
          ? `open loop ${formatRate(p.rate)}/s`
          : `${v} in flight`,
    section: 'workload',
  },
  payloadBytes: {
    option: {
      flag: 'size',
      kind: 'value',
      meta: 'S',
      help: 'payload bytes: 64, 4k, 64KiB, 1MiB',
      parse: (t, f) => {
        const size = parseSize(t);
        if (size === undefined || size > MAX_PAYLOAD_BYTES)
          throw new UsageError(`--${f} must be a byte count up to 64MiB such as 64, 4k or 1MiB (got "${t}")`);
        return size;
      },
    },
    setAliases: ['payload', 'payloadbytes'],
    base: DEFAULTS.payloadBytes,
    label: (v) => formatSize(v).replace(' ', ''),
    describe: (v) => formatSize(v),
    section: 'workload',
  },
  work: {
    option: {
      flag: 'work',
      kind: 'value',
      meta: 'SPEC',
      help: 'handler work: none, cpu:<µs>, block:<ms>, async:<ms>',
      parse: (t) => {
        parseWorkSpec(t);
        return t;
      },
    },
    base: 'none',
    label: String,
    describe: (v) => (v.startsWith('handler:') ? `handler ${v.slice(v.lastIndexOf('/') + 1)}` : `work ${v}`),
    section: 'workload',
  },
  pattern: {
    option: {
      flag: 'pattern',
      kind: 'value',
      meta: 'P',
      help: 'persistent or connect-per-request',
      parse: (t, f) => oneOfChoices(t, f, PATTERNS),
    },
    base: 'persistent',
    label: String,
    describe: () => undefined, // said with frames in flight
    section: 'workload',
  },
  rate: {
    option: {
      flag: 'rate',
      kind: 'value',
      meta: 'R',
      help: 'open loop at R frames/s in total',
      parse: (t, f) => {
        const value = Number(t);
        if (t.trim() === '' || !Number.isFinite(value) || value <= 0)
          throw new UsageError(`--${f} must be a positive number (got "${t}")`);
        return value;
      },
    },
    base: undefined,
    label: (v) => `${v}/s`,
    describe: () => undefined, // said with frames in flight ("open loop 5.00k/s")
    section: 'workload',
  },
  pin: {
    option: {
      flag: 'pin',
      kind: 'value',
      meta: 'MODE',
      help: "separate (server and client on different CPUs), shared (server on all CPUs), off;\ndefault: each workload's own (separate, or shared for CPU/blocking work)",
      parse: (t, f) => oneOfChoices(t, f, PIN_MODES),
    },
    base: 'separate',
    label: String,
    describe: () => undefined,
    section: 'measure',
  },
  driver: {
    option: {
      flag: 'driver',
      kind: 'value',
      meta: 'NAME',
      help: `load driver: ${DRIVERS.map((d) => d.name).join(', ')} (TCP default: native, else node);\nseveral (native,node) measure the same cells with each, in the same rounds`,
      parse: (t, f) => {
        const items = t.split(',').map((s) => s.trim());
        if (items.some((s) => s === '')) throw new UsageError(`--${f} has an empty item (got "${t}")`);
        const names = items.map((name) =>
          oneOfChoices(
            name,
            f,
            DRIVERS.map((d) => d.name),
          ),
        );
        return names.length === 1 ? names[0]! : names;
      },
    },
    base: 'native', // the preferred TCP driver; the Node client stands in where it could not be built (settings.ts)
    label: String,
    describe: (v) => `driver ${v}`,
    section: 'workload',
  },
};

export const AXIS_KEYS = Object.keys(AXES) as AxisKey[];

/** Every axis's value in a workload that does not set it. */
export const DEFAULT_PARAMS: WorkloadParams = Object.fromEntries(
  AXIS_KEYS.flatMap((k) => (AXES[k].base === undefined ? [] : [[k, AXES[k].base]])),
) as unknown as WorkloadParams;

/** A workload's header line: "tcp · 50 conn · 1 in flight · 64 B · work none · driver native". */
export function describeParams(p: WorkloadParams): string {
  return AXIS_KEYS.flatMap((k) => {
    const v = p[k];
    return v === undefined ? [] : [(AXES[k].describe as (v: unknown, p: WorkloadParams) => string | undefined)(v, p)];
  })
    .filter((s): s is string => s !== undefined)
    .join(' · ');
}

/** How a swept axis value names its workload. */
export function axisLabel(key: AxisKey, value: unknown): string {
  return (AXES[key].label as (v: unknown) => string)(value);
}

/** --set KEY=VALUE: the axis a key names (its key, its flag or an alias; any case). */
export function axisForSetKey(name: string): AxisKey | undefined {
  const n = name.toLowerCase();
  return AXIS_KEYS.find(
    (k) => k.toLowerCase() === n || AXES[k].option.flag === n || (AXES[k].setAliases ?? []).includes(n),
  );
}

/** The names --set accepts, for its error message. */
export function setKeyNames(): string[] {
  return AXIS_KEYS.map((k) => AXES[k].option.flag);
}
