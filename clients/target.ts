import { UsageError } from '../lib/cli-args.js';

/** "HOST:PORT" (IPv6 as [::1]:PORT) → host and port, or a usage error. */
export function parseTarget(text: string, flag = 'target'): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UsageError(`--${flag} must be HOST:PORT with a port from 1 to 65535 (got "${text}")`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}
