/**
 * The options a server is started with, described once (SERVE_OPTIONS): `npm run serve` parses its flags and
 * writes its --help from them, and the serve agent checks every remote start request with the same parsers, so both
 * accept and reject exactly the same values.
 */
import os from 'node:os';
import { UsageError } from '../lib/cli-args.js';
import { DEFAULTS } from '../lib/defaults.js';
import {
  choiceOption,
  customOption,
  integerOption,
  type OptionValues,
  portOption,
  positiveNumberOption,
  switchOption,
} from '../lib/options.js';
import { PROTOCOLS, type Protocol } from './protocol.js';
import { findModel, MODELS, type BuiltInModel } from './registry.js';
import { parseWorkSpec, type WorkSpec } from './work.js';

export const MAX_WORKERS = 256;
export const MAX_CHILDREN = 4096;
/** The per-connection models' cap, described once for serve and bench. */
export const MAX_CHILDREN_HELP =
  'fork-per-connection and thread-per-connection: children or threads alive at once (over it, connections wait in a FIFO queue)';

export const SERVE_OPTIONS = {
  model: customOption('model', (t) => findModel(t), {
    meta: 'NAME',
    help: `one of: ${MODELS.map((m) => m.name).join(', ')}`,
  }),
  protocol: choiceOption('protocol', PROTOCOLS, { meta: 'P', default: 'tcp', help: 'tcp, http or udp' }),
  host: customOption(
    'host',
    (t, f) => {
      if (t === '') throw new UsageError(`--${f} must not be empty`);
      return t;
    },
    { meta: 'H', default: '127.0.0.1', help: 'address to listen on' },
  ),
  port: portOption('port', { meta: 'P', default: 0, help: 'port (0: a free one, printed in the ready line)' }),
  work: customOption('work', (t) => parseWorkSpec(t), {
    meta: 'SPEC',
    default: { kind: 'none' } as WorkSpec,
    defaultText: 'none',
    help: 'handler work per message: none, cpu:<µs>, block:<ms>, async:<ms>',
  }),
  workers: integerOption('workers', {
    min: 1,
    max: MAX_WORKERS,
    meta: 'N',
    help: 'workers/children/threads for parallel models',
    defaultText: `CPUs this process may use, ${os.availableParallelism()}`,
  }),
  maxChildren: integerOption('max-children', {
    min: 1,
    max: MAX_CHILDREN,
    meta: 'N',
    default: DEFAULTS.maxChildren,
    help: MAX_CHILDREN_HELP,
  }),
  cpuRate: positiveNumberOption('cpu-rate', {
    meta: 'R',
    help: 'spin-loop iterations per µs for cpu work',
    defaultText: 'calibrated at start',
  }),
  injectMicros: positiveNumberOption('inject-cpu', {
    meta: 'US',
    help: "test knob for the regression gate: US µs of extra busy work on every message (Node\nmodels only; npm run gate:validate uses it to measure the gate's detection rate)",
  }),
  help: switchOption('help', 'this text'),
} as const;

export interface ServeOptions {
  model: BuiltInModel;
  protocol: Protocol;
  host: string;
  port: number;
  work: WorkSpec;
  workers: number;
  maxChildren: number;
  /** Spin-loop iterations per µs for cpu work; undefined: calibrate at start. */
  cpuRate?: number;
  /** The regression gate's test knob: µs of extra busy work per message (Node models only). */
  injectMicros?: number;
}

/** Checks the parsed values together (model registered and available, protocol served, knob on a Node model). */
export function serveOptions(v: Partial<OptionValues<typeof SERVE_OPTIONS>>): ServeOptions {
  if (v.model === undefined) throw new UsageError('--model is required');
  const model = v.model;
  const protocol = v.protocol ?? 'tcp';
  if (!model.protocols.includes(protocol)) {
    const why = model.whyNot?.[protocol];
    throw new UsageError(
      `model ${model.name} does not serve ${protocol}${why ? `: ${why}` : ''} (it serves ${model.protocols.join(', ')})`,
    );
  }
  const availability = model.available();
  if (!availability.ok) throw new UsageError(`model ${model.name} is unavailable: ${availability.reason}`);
  if (v.injectMicros !== undefined && model.runtime === 'native')
    throw new UsageError(`--inject-cpu applies to Node models; ${model.name} is the native reference`);
  return {
    model,
    protocol,
    host: v.host ?? SERVE_OPTIONS.host.default,
    port: v.port ?? 0,
    work: v.work ?? { kind: 'none' },
    workers: v.workers ?? os.availableParallelism(),
    maxChildren: v.maxChildren ?? DEFAULTS.maxChildren,
    ...(v.cpuRate !== undefined ? { cpuRate: v.cpuRate } : {}),
    ...(v.injectMicros !== undefined ? { injectMicros: v.injectMicros } : {}),
  };
}

/** Values given as text by flag name (a remote start request), each checked by its option's parser. */
export function serveOptionsFromText(text: Partial<Record<string, string>>): ServeOptions {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SERVE_OPTIONS)) {
    const t = text[spec.flag];
    if (t !== undefined) values[key] = spec.parse(t, spec.flag);
  }
  return serveOptions(values as Partial<OptionValues<typeof SERVE_OPTIONS>>);
}
