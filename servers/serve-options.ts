/**
 * The options a server is started with, validated in one place: `npm run serve` parses its flags with them, and the
 * serve agent checks every remote start request with them, so both accept and reject exactly the same values.
 */
import os from 'node:os';
import { oneOf, portNumber, positiveInteger, positiveNumber, UsageError } from '../lib/cli-args.js';
import { PROTOCOLS, type Protocol } from './protocol.js';
import { findModel, type Model } from './registry.js';
import { parseWorkSpec, type WorkSpec } from './work.js';
import { DEFAULT_MAX_CHILDREN } from './types.js';

/** serve's flags, in node:util parseArgs form. */
export const SERVE_FLAGS = {
  model: { type: 'string' },
  protocol: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  work: { type: 'string' },
  workers: { type: 'string' },
  'max-children': { type: 'string' },
  'cpu-rate': { type: 'string' },
  'inject-cpu': { type: 'string' },
} as const;

export type ServeFlag = keyof typeof SERVE_FLAGS;
export type ServeValues = Partial<Record<ServeFlag, string>>;

export interface ServeOptions {
  model: Model;
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

export const MAX_WORKERS = 256;
export const MAX_CHILDREN = 4096;

/** Checks every value (model registered, protocol served, work spec, counts in range) or throws a usage error. */
export function serveOptions(values: ServeValues): ServeOptions {
  if (values.model === undefined) throw new UsageError('--model is required');
  const model = findModel(values.model);
  const protocol = oneOf('protocol', values.protocol, PROTOCOLS, 'tcp');
  if (!model.protocols.includes(protocol)) {
    const why = model.whyNot?.[protocol];
    throw new UsageError(`model ${model.name} does not serve ${protocol}${why ? `: ${why}` : ''} (it serves ${model.protocols.join(', ')})`);
  }
  const availability = model.available();
  if (!availability.ok) throw new UsageError(`model ${model.name} is unavailable: ${availability.reason}`);
  const host = values.host ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host must not be empty');
  const injectMicros = values['inject-cpu'] === undefined ? undefined : positiveNumber('inject-cpu', values['inject-cpu'], 1);
  if (injectMicros !== undefined && model.runtime === 'native') throw new UsageError(`--inject-cpu applies to Node models; ${model.name} is the native reference`);
  return {
    model,
    protocol,
    host,
    port: portNumber('port', values.port, 0),
    work: parseWorkSpec(values.work ?? 'none'),
    workers: positiveInteger('workers', values.workers, os.availableParallelism(), MAX_WORKERS),
    maxChildren: positiveInteger('max-children', values['max-children'], DEFAULT_MAX_CHILDREN, MAX_CHILDREN),
    ...(values['cpu-rate'] !== undefined ? { cpuRate: positiveNumber('cpu-rate', values['cpu-rate'], 1) } : {}),
    ...(injectMicros !== undefined ? { injectMicros } : {}),
  };
}
