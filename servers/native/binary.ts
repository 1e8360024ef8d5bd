/** Where the native epoll server is built, and whether it exists (built by scripts/build-native at `npm run build`). */
import { existsSync, readFileSync } from 'node:fs';
import { compiled } from '../paths.js';

/** The binary sits next to the compiled JS in dist/servers/native/. */
export const NATIVE_BINARY = compiled('servers/native/epoll-echo');
/** Written by the build when the binary could not be made: the reason, shown instead of a row. */
export const NATIVE_SKIP_FILE = compiled('servers/native/epoll-echo.skipped');

export type NativeStatus = { ok: true; path: string } | { ok: false; reason: string };

export function nativeBinaryStatus(): NativeStatus {
  if (existsSync(NATIVE_BINARY)) return { ok: true, path: NATIVE_BINARY };
  if (existsSync(NATIVE_SKIP_FILE)) return { ok: false, reason: readFileSync(NATIVE_SKIP_FILE, 'utf8').trim() };
  return { ok: false, reason: 'native server not built (run npm run build)' };
}
