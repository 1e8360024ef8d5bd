/**
 * Command-line plumbing shared by every entry point: node's strict parseArgs, value checks with one message
 * pattern ("--duration must be a positive number (got "x")"), and a runner that turns bad input into one line on
 * stderr and exit code 2 instead of a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function positiveNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a positive number (got "${text}")`);
  }
  return value;
}

export function nonNegativeNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${flag} must be a number ≥ 0 (got "${text}")`);
  }
  return value;
}

export function positiveInteger(flag: string, text: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(`--${flag} must be an integer from 1 to ${max} (got "${text}")`);
  }
  return value;
}

export function portNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value > 65535) throw new UsageError(`--${flag} must be a port from 0 to 65535 (got "${text}")`);
  return value;
}

export function oneOf<T extends string>(flag: string, text: string | undefined, allowed: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${text}")`);
  }
  return text as T;
}

/** Splits "a,b,c" lists; empty items are an error rather than silently dropped. */
export function list(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${flag} has an empty item (got "${text}")`);
  return items;
}

/** Runs an entry point: usage errors print one line and exit 2; other failures print their message and exit 1. */
export function runMain(main: () => Promise<void>, usage?: string): void {
  main().catch((error: unknown) => {
    const err = error as Error;
    if (err instanceof UsageError || err.name === 'UsageError' || err.name === 'WorkSpecError' || err.name === 'UnknownModelError') {
      process.stderr.write(`error: ${err.message}\n`);
      if (usage) process.stderr.write(`run with --help for usage\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${err.message ?? String(error)}\n`);
      if (process.env.CONBENCH_DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    }
  });
}
