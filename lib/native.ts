/**
 * The C programs `npm run build` compiles with the system compiler (scripts/build-native.ts): the epoll echo server
 * (the ceiling row) and the native TCP load driver. Each binary sits next to the compiled JS in dist/; when it could
 * not be built, a `.skipped` file beside it holds the reason, shown instead of a row or a driver.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compiled, PROJECT_ROOT } from './paths.js';
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

const compiler = process.env.CC ?? 'cc';

/**
 * Builds one C program unless it is already built from the same sources and defines; returns why it could not be
 * (and records that beside the binary), or undefined once it is there.
 */
export function buildNative(t: NativeTarget): string | undefined {
  const skip = (reason: string): string => {
    rmSync(t.binary, { force: true });
    writeFileSync(t.skipFile, `${reason}\n`);
    return reason;
  };
  const source = path.join(PROJECT_ROOT, t.source);
  mkdirSync(path.dirname(t.binary), { recursive: true });
  if (process.platform !== 'linux') return skip(`epoll is Linux-only (this is ${process.platform})`);
  if (!existsSync(source)) return skip(`its source ${t.source} is not here`);
  const defines = Object.entries(t.defines).map(([name, value]) => `-D${name}=${value}`);
  // The -D values are an input too: a changed default rebuilds the binary.
  const flagsFile = `${t.binary}.flags`;
  const sameFlags = existsSync(flagsFile) && readFileSync(flagsFile, 'utf8') === defines.join(' ');
  const newestInput = Math.max(...[t.source, ...t.headers].map((f) => statSync(path.join(PROJECT_ROOT, f)).mtimeMs));
  if (sameFlags && existsSync(t.binary) && statSync(t.binary).mtimeMs >= newestInput) return undefined;
  const result = spawnSync(compiler, ['-O2', '-Wall', '-Wextra', ...defines, '-o', t.binary, source, ...t.libs], {
    encoding: 'utf8',
  });
  const failed = result.error
    ? `no C compiler (${compiler}: ${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`
    : result.status !== 0
      ? `${compiler} failed: ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`
      : undefined;
  if (failed) return skip(failed);
  rmSync(t.skipFile, { force: true });
  writeFileSync(flagsFile, defines.join(' '));
  return undefined;
}

/**
 * Whether the program is here, with its path, or why not. Installed as a package (npx conbench), the C programs are
 * built on first use, here, with the system compiler: a binary built elsewhere would not run on another machine.
 */
export function nativeStatus(t: NativeTarget): NativeStatus {
  if (existsSync(t.binary)) return { ok: true, path: t.binary };
  if (!existsSync(t.skipFile) && existsSync(path.join(PROJECT_ROOT, t.source))) buildNative(t);
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
