/**
 * The C programs `npm run build` compiles with the system compiler (scripts/build-native.ts): the epoll echo server
 * (the ceiling row) and the native TCP load driver. Each binary sits next to the compiled JS in dist/; when it could
 * not be built, a `.skipped` file beside it holds the reason, shown instead of a row or a driver.
 */
import { existsSync, readFileSync } from 'node:fs';
import { compiled } from './paths.js';
import { DEFAULTS } from './defaults.js';

export interface NativeTarget {
  /** What the binary is, for messages. */
  label: string;
  /** C source, relative to the project root. */
  source: string;
  binary: string;
  skipFile: string;
  /** Extra linker arguments. */
  libs: readonly string[];
  /** Headers it includes, relative to the project root (a change rebuilds it). */
  headers: readonly string[];
  /** Values it receives at build time as -DNAME=VALUE (a change rebuilds it). */
  defines: Readonly<Record<string, number>>;
}

/** The header both C programs share. */
const SHARED_HEADERS = ['lib/native/die.h', 'lib/native/json-out.h'];

function target(
  label: string,
  source: string,
  libs: readonly string[] = [],
  defines: Record<string, number> = {},
): NativeTarget {
  const binary = compiled(source.replace(/\.c$/, ''));
  return { label, source, binary, skipFile: `${binary}.skipped`, libs, headers: SHARED_HEADERS, defines };
}

export const EPOLL_ECHO = target('native-epoll server', 'servers/native/epoll-echo.c');
/** The load driver's defaults are the load CLIs' (lib/defaults.ts): handed over, not repeated in C. */
export const TCP_LOAD = target('native TCP load driver', 'clients/native/tcp-load.c', ['-pthread', '-lm'], {
  CB_DEFAULT_CONNECTIONS: DEFAULTS.connections,
  CB_DEFAULT_IN_FLIGHT: DEFAULTS.inFlight,
  CB_DEFAULT_PAYLOAD_BYTES: DEFAULTS.payloadBytes,
  CB_DEFAULT_DURATION_SEC: DEFAULTS.loadDurationSec,
  CB_DEFAULT_WARMUP_SEC: DEFAULTS.loadWarmupSec,
  CB_DEFAULT_TIMEOUT_MS: DEFAULTS.timeoutMs,
  CB_DEFAULT_READY_TIMEOUT_SEC: DEFAULTS.readyTimeoutSec,
});
export const NATIVE_TARGETS: readonly NativeTarget[] = [EPOLL_ECHO, TCP_LOAD];

export type NativeStatus = { ok: true; path: string } | { ok: false; reason: string };

export function nativeStatus(t: NativeTarget): NativeStatus {
  if (existsSync(t.binary)) return { ok: true, path: t.binary };
  if (existsSync(t.skipFile)) return { ok: false, reason: readFileSync(t.skipFile, 'utf8').trim() };
  return { ok: false, reason: `${t.label} not built (run npm run build)` };
}

/** The binary's path, or an error naming why it is missing. */
export function nativeBinary(t: NativeTarget): string {
  const status = nativeStatus(t);
  if (!status.ok) throw new Error(`the ${t.label} is unavailable: ${status.reason}`);
  return status.path;
}
