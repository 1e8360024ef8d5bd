/**
 * A user's request handler (`npm run bench -- --handler MODULE`): an ES module whose default export answers one
 * request, `(request: Buffer) => Buffer | Uint8Array | string | Promise<…>`, with an optional `setup()` awaited once
 * per process or thread before it serves, and an optional `verify` ('bytes' | 'length' | 'none', default 'bytes':
 * the response is a pure function of the request). Every model loads it where its design runs handler work: on the
 * loop, in each worker, child or thread, on the piscina pool; the bench loads it once more to know the answers.
 */
import { pathToFileURL } from 'node:url';

export type Respond = (request: Buffer) => Buffer | Promise<Buffer>;
export type VerifyMode = 'bytes' | 'length' | 'none';
export const VERIFY_MODES: readonly VerifyMode[] = ['bytes', 'length', 'none'];

export interface UserHandler {
  respond: Respond;
  verify: VerifyMode;
}

export class HandlerError extends Error {
  override name = 'HandlerError';
}

/** A response as bytes: a string is UTF-8 text; a Uint8Array is taken as it is (no copy). */
export function responseBytes(value: unknown, module: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new HandlerError(
    `${module} answered with ${value === null ? 'null' : typeof value}; a handler returns a Buffer, a Uint8Array or a string (or a promise of one)`,
  );
}

/**
 * Whether the handler's default export is declared `async` (it awaits something: a timer, a pool, I/O), read without
 * running its setup(). A handler that returns a promise from a plain function is not seen, and is run as a computing
 * one.
 */
export async function declaredAsync(module: string): Promise<boolean> {
  try {
    const mod = (await import(pathToFileURL(module).href)) as { default?: unknown };
    return typeof mod.default === 'function' && mod.default.constructor.name === 'AsyncFunction';
  } catch {
    return false; // the workers' load reports it
  }
}

const loaded = new Map<string, Promise<UserHandler>>();

/** Loads a handler module once per process or thread, runs its setup(), and checks its exports. */
export function loadHandler(module: string): Promise<UserHandler> {
  let handler = loaded.get(module);
  if (!handler) {
    handler = (async () => {
      let mod: { default?: unknown; setup?: unknown; verify?: unknown };
      try {
        mod = (await import(pathToFileURL(module).href)) as typeof mod;
      } catch (error) {
        throw new HandlerError(`cannot load the handler ${module}: ${(error as Error).message}`);
      }
      const fn = mod.default;
      if (typeof fn !== 'function')
        throw new HandlerError(`${module} has no default export function (export default (request) => response)`);
      const verify = (mod.verify ?? 'bytes') as VerifyMode;
      if (!VERIFY_MODES.includes(verify))
        throw new HandlerError(
          `${module} exports verify = ${JSON.stringify(mod.verify)}; it must be one of ${VERIFY_MODES.join(', ')}`,
        );
      if (mod.setup !== undefined) {
        if (typeof mod.setup !== 'function') throw new HandlerError(`${module} exports setup, but not as a function`);
        try {
          await (mod.setup as () => unknown)();
        } catch (error) {
          throw new HandlerError(`${module}'s setup() threw: ${(error as Error).message}`);
        }
      }
      const respond: Respond = (request) => {
        const out = (fn as (r: Buffer) => unknown)(request);
        return out instanceof Promise ? out.then((v) => responseBytes(v, module)) : responseBytes(out, module);
      };
      return { respond, verify };
    })();
    loaded.set(module, handler);
  }
  return handler;
}
