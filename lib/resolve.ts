import { lookup } from 'node:dns/promises';
import { UsageError } from './cli-args.js';

/**
 * A host given on the command line that does not resolve is bad usage (exit 2 with one clear line), for servers
 * (--host) and load clients (--target) alike, and for the native programs, which check the same way.
 */
export async function assertResolves(flag: string, host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTFOUND'
        ? 'no such host'
        : code === 'EAI_AGAIN'
          ? 'temporary failure in name resolution'
          : (code ?? (error as Error).message);
    throw new UsageError(`--${flag} cannot be resolved (got "${host}": ${why})`);
  }
}
