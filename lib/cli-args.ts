/**
 * Command-line plumbing shared by every entry point: node's strict parseArgs, value checks with one message
 * pattern ("--duration must be a positive number (got "x")"), and a runner that turns bad input into one line on
 * stderr and exit code 2 instead of a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Found before anything ran, as a usage error is (exit 2), but about the machine, not the flags: no usage hint. */
export class SetupError extends UsageError {
  override name = 'SetupError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: joinDashValues(argv, options), options, strict: true, allowPositionals });
  } catch (error) {
    // parseArgs explains some mistakes over several lines; the first says what is wrong.
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * parseArgs refuses "--connections -1" as ambiguous (the value might be a forgotten option). A negative number is
 * never an option here, so it is joined to its flag ("--connections=-1") and reaches the range check, which names
 * the allowed values; any other dash value after a string option is refused with a one-line hint.
 */
function joinDashValues(argv: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name === undefined || options[name]?.type !== 'string' || next === undefined || !next.startsWith('-')) {
      out.push(arg);
    } else if (NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      throw new UsageError(
        `${arg} needs a value (got the option "${next}"; write ${arg}=${next} if that is the value)`,
      );
    }
  }
  return out;
}

/** Splits "a,b,c" lists; empty items are an error rather than silently dropped. */
export function list(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${flag} has an empty item (got "${text}")`);
  return items;
}

/** Bad input of any kind (a flag, a work spec, a model name): exit 2 with one line, never a stack trace. */
export function isUsageError(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return (
    error instanceof UsageError ||
    name === 'UsageError' ||
    name === 'SetupError' ||
    name === 'WorkSpecError' ||
    name === 'UnknownModelError'
  );
}
