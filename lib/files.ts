/**
 * Folders and files a command writes, with errors a person can act on. Node 20's `mkdirSync(…, { recursive: true })`
 * never returns for a path under /proc (mkdir answers ENOENT for a parent that exists, and Node retries forever,
 * synchronously, so not even a signal handler runs: `--out /proc/nope` spun for ten minutes). Folders are made here
 * one level at a time instead, and every write error names the path, what the system said, and what to do.
 */
import { mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SetupError } from './cli-args.js';

/** A file-system failure, told as one line: what could not be done, where, why, and the fix. */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const FIXES: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full: free some space',
  EDQUOT: 'the disk quota is used up: free some space',
  EFBIG: 'the file reached the size limit set for this process (ulimit -f)',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOENT: 'a part of the path does not exist and cannot be made there',
  EEXIST: 'it exists and is not a folder',
};

/** One line for a failed file operation: "cannot write results/x/records.jsonl: no space left … (ENOSPC)". */
export function fileError(what: string, file: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const fix = code ? FIXES[code] : undefined;
  const why = fix ?? (error as Error | undefined)?.message ?? String(error);
  return new FileError(`cannot ${what} ${file}: ${why}${code ? ` (${code})` : ''}`, code);
}

/** Whether an error is one of the file system's (a full disk, a read-only folder…), not a bug. */
export function isFileSystemError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof FileError || (code !== undefined && code in FIXES);
}

/** Makes `dir` and any missing parents, one level at a time; an error says which level failed and why. */
export function makeDirectory(dir: string): void {
  const absolute = path.resolve(dir);
  const missing: string[] = [];
  for (let d = absolute; ; d = path.dirname(d)) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(d).isDirectory();
    } catch {
      isDir = undefined;
    }
    if (isDir === true) break;
    if (isDir === false)
      throw fileError('make the folder', d, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      throw fileError('make the folder', d, error);
    }
  }
}

/**
 * Makes a folder that did not exist before, under `parent`, named `name` or, when that is taken (two suites started
 * in the same second), `name-2`, `name-3`…: mkdir without `recursive` fails on a folder that exists, so two processes
 * never share one. Returns its name.
 */
export function makeNewDirectory(parent: string, name: string): string {
  makeDirectory(parent);
  for (let i = 1; i < 1000; i++) {
    const candidate = i === 1 ? name : `${name}-${i}`;
    try {
      mkdirSync(path.join(parent, candidate));
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw fileError('make the folder', path.join(parent, candidate), error);
    }
  }
  throw new FileError(`cannot make a new folder ${path.join(parent, name)}: 999 of that name exist`, undefined);
}

/** Bytes free for this user on the file system holding `dir` (undefined where statfs cannot tell). */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Checks that `dir` can be written (a small file is written and removed: a read-only mount or a full disk shows here,
 * before anything runs) and that its file system has `bytes` free.
 */
export function checkWritable(dir: string, bytes: number): void {
  const probe = path.join(dir, `.conbench-probe-${process.pid}`);
  try {
    writeFileSync(probe, Buffer.alloc(4096));
  } catch (error) {
    rmSync(probe, { force: true });
    throw fileError('write in', dir, error);
  }
  rmSync(probe, { force: true });
  const free = freeBytes(dir);
  if (free !== undefined && free < bytes) {
    throw new FileError(
      `cannot write in ${dir}: ${formatMiB(free)} free, and the planned runs need about ${formatMiB(bytes)}`,
      'ENOSPC',
    );
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Runs a setup step of a command (making its output folder…): a file-system failure there is found before anything
 * ran, so it is a setup error (exit 2, one line) rather than a failure while measuring.
 */
export function beforeAnythingRuns<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (isFileSystemError(error)) throw new SetupError(`${(error as Error).message}; nothing was run`);
    throw error;
  }
}
