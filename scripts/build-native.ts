/**
 * Builds the native epoll ceiling server with the system C compiler. With no compiler (or a failed build) it
 * records why, and the native-epoll row is skipped with that reason rather than faked.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_BINARY, NATIVE_SKIP_FILE } from '../servers/native/binary.js';
import { PROJECT_ROOT } from '../servers/paths.js';

const source = path.join(PROJECT_ROOT, 'servers/native/epoll-echo.c');
mkdirSync(path.dirname(NATIVE_BINARY), { recursive: true });

function skip(reason: string): void {
  rmSync(NATIVE_BINARY, { force: true });
  writeFileSync(NATIVE_SKIP_FILE, reason + '\n');
  process.stderr.write(`native-epoll will be skipped: ${reason}\n`);
}

function upToDate(): boolean {
  return existsSync(NATIVE_BINARY) && statSync(NATIVE_BINARY).mtimeMs >= statSync(source).mtimeMs;
}

const compiler = process.env.CC ?? 'cc';
if (process.platform !== 'linux') {
  skip(`epoll is Linux-only (this is ${process.platform})`);
} else if (!upToDate()) {
  const result = spawnSync(compiler, ['-O2', '-Wall', '-Wextra', '-o', NATIVE_BINARY, source], { encoding: 'utf8' });
  if (result.error) skip(`no C compiler (${compiler}: ${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`);
  else if (result.status !== 0) skip(`${compiler} failed: ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
  else rmSync(NATIVE_SKIP_FILE, { force: true });
}
