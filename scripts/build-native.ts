/**
 * Builds the C programs (the epoll ceiling server and the native TCP load driver) with the system C compiler. With
 * no compiler (or a failed build) it records why, and the native row or driver is skipped with that reason rather
 * than faked.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { NATIVE_TARGETS, type NativeTarget } from '../lib/native.js';
import { PROJECT_ROOT } from '../lib/paths.js';

const compiler = process.env.CC ?? 'cc';

function skip(t: NativeTarget, reason: string): void {
  rmSync(t.binary, { force: true });
  writeFileSync(t.skipFile, reason + '\n');
  process.stderr.write(`${t.label} will be skipped: ${reason}\n`);
}

function build(t: NativeTarget): void {
  const source = path.join(PROJECT_ROOT, t.source);
  mkdirSync(path.dirname(t.binary), { recursive: true });
  if (process.platform !== 'linux') {
    skip(t, `epoll is Linux-only (this is ${process.platform})`);
    return;
  }
  const defines = Object.entries(t.defines).map(([name, value]) => `-D${name}=${value}`);
  // The -D values are an input too: a changed default rebuilds the binary.
  const flagsFile = `${t.binary}.flags`;
  const sameFlags = existsSync(flagsFile) && readFileSync(flagsFile, 'utf8') === defines.join(' ');
  const newestInput = Math.max(...[t.source, ...t.headers].map((f) => statSync(path.join(PROJECT_ROOT, f)).mtimeMs));
  if (sameFlags && existsSync(t.binary) && statSync(t.binary).mtimeMs >= newestInput) return;
  const result = spawnSync(compiler, ['-O2', '-Wall', '-Wextra', ...defines, '-o', t.binary, source, ...t.libs], {
    encoding: 'utf8',
  });
  const failed = result.error
    ? `no C compiler (${compiler}: ${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`
    : result.status !== 0
      ? `${compiler} failed: ${result.stderr.trim().split('\n').slice(0, 3).join(' | ')}`
      : undefined;
  if (failed) {
    skip(t, failed);
    return;
  }
  rmSync(t.skipFile, { force: true });
  writeFileSync(flagsFile, defines.join(' '));
}

for (const t of NATIVE_TARGETS) build(t);
