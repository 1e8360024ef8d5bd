/**
 * What a parent model hands to the workers, children and threads it starts: the protocol, where to listen and the
 * handler work, already resolved (cpu work calibrated) in the parent. Children get it as JSON in an environment
 * variable and never calibrate again, so every worker runs exactly the work the ready line reports.
 */
import { PROTOCOLS, type Protocol } from '../protocol.js';
import type { Work } from '../work.js';

export const CHILD_CONFIG_ENV = 'CONBENCH_CHILD_CONFIG';

export interface ChildConfig {
  protocol: Protocol;
  host: string;
  port: number;
  work: Work;
}

export function encodeChildConfig(config: ChildConfig): string {
  return JSON.stringify(config);
}

/** Environment for a child: the parent's plus the config. */
export function childEnv(config: ChildConfig): NodeJS.ProcessEnv {
  return { ...process.env, [CHILD_CONFIG_ENV]: encodeChildConfig(config) };
}

export class ChildConfigError extends Error {
  override name = 'ChildConfigError';
}

/** Reads and checks the config a parent put in the environment; a child started by hand gets a clear error. */
export function readChildConfig(env: NodeJS.ProcessEnv = process.env): ChildConfig {
  const text = env[CHILD_CONFIG_ENV];
  if (text === undefined)
    throw new ChildConfigError(`${CHILD_CONFIG_ENV} is not set: this entry is started by a model, not by hand`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChildConfigError(`${CHILD_CONFIG_ENV} is not JSON`);
  }
  return checkChildConfig(value);
}

export function checkChildConfig(value: unknown): ChildConfig {
  if (typeof value !== 'object' || value === null) throw new ChildConfigError('child config must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.protocol !== 'string' || !PROTOCOLS.includes(v.protocol as Protocol)) {
    throw new ChildConfigError(`child config protocol must be one of ${PROTOCOLS.join(', ')}`);
  }
  if (typeof v.host !== 'string') throw new ChildConfigError('child config host must be a string');
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 0 || v.port > 65535) {
    throw new ChildConfigError('child config port must be an integer in 0..65535');
  }
  return { protocol: v.protocol as Protocol, host: v.host, port: v.port, work: checkWork(v.work) };
}

function checkWork(value: unknown): Work {
  if (typeof value !== 'object' || value === null) throw new ChildConfigError('child config work must be an object');
  const w = value as Record<string, unknown>;
  const positive = (key: string): number => {
    const n = w[key];
    if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) {
      throw new ChildConfigError(`child config work.${key} must be a positive number`);
    }
    return n;
  };
  switch (w.kind) {
    case 'none':
      return { kind: 'none' };
    case 'cpu':
      return { kind: 'cpu', micros: positive('micros'), iterations: positive('iterations') };
    case 'block':
      return { kind: 'block', millis: positive('millis') };
    case 'async':
      return { kind: 'async', millis: positive('millis') };
    case 'handler':
      if (typeof w.module !== 'string' || !w.module.startsWith('/'))
        throw new ChildConfigError('child config work.module must be an absolute path');
      return { kind: 'handler', module: w.module };
    default:
      throw new ChildConfigError('child config work.kind must be one of none, cpu, block, async, handler');
  }
}
