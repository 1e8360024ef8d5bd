/**
 * An option described once: its flag, the value it takes and how that is checked, its default and its help line.
 * A command's options are one table of these; its flag parsing (node's strict parseArgs), its typed values with
 * defaults applied, and its --help text are all generated from that table, so a flag, a default and its description
 * cannot drift apart. (Node core's benchmark/common.js does the same with one `configs` object per benchmark.)
 */
import { parseFlags, UsageError } from './cli-args.js';

export interface OptionSpec<T = unknown> {
  /** The long flag without its dashes. */
  readonly flag: string;
  /** value: `--flag V`; switch: `--flag` alone (true when given); repeated: `--flag V` any number of times. */
  readonly kind: 'value' | 'switch' | 'repeated';
  /** The value's placeholder in the help (N, SEC, PCT …). */
  readonly meta?: string;
  readonly help: string;
  /** The value when the flag is not given; absent: the option stays unset. */
  readonly default?: T;
  /** How the help shows the default when the value itself would not say it ("the profile's"). */
  readonly defaultText?: string;
  /** Checks and converts one value (repeated: one occurrence, as a list to append); throws UsageError naming the flag. */
  readonly parse: (text: string, flag: string) => T;
}

/** An option with a default: its value is never undefined. */
export type DefaultedSpec<T> = OptionSpec<T> & { readonly default: T };

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S> = S extends OptionSpec<infer T> ? T : never;

/** The parsed values of a table: options with a default always have a value, the others may be undefined. */
export type OptionValues<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K] extends { readonly default: infer D }
    ? undefined extends D
      ? ValueOf<O[K]> | undefined
      : ValueOf<O[K]>
    : ValueOf<O[K]> | undefined;
};

/** Parses argv against the table: every value checked, defaults applied. Unknown flags are a UsageError. */
export function parseOptions<O extends OptionTable>(
  argv: readonly string[],
  table: O,
  allowPositionals = false,
): { values: OptionValues<O>; given: Set<keyof O>; positionals: string[] } {
  const flags: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  const byFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    flags[spec.flag] =
      spec.kind === 'switch'
        ? { type: 'boolean' }
        : spec.kind === 'repeated'
          ? { type: 'string', multiple: true }
          : { type: 'string' };
    byFlag.set(spec.flag, key);
  }
  const parsed = parseFlags([...argv], flags, allowPositionals);
  const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const values: Record<string, unknown> = {};
  const given = new Set<keyof O>();
  for (const [key, spec] of Object.entries(table)) {
    const text = raw[spec.flag];
    if (text === undefined) {
      if (spec.default !== undefined) values[key] = spec.default;
      continue;
    }
    given.add(key);
    if (spec.kind === 'switch') values[key] = text === true;
    else if (spec.kind === 'repeated')
      values[key] = (text as string[]).flatMap((t) => spec.parse(t, spec.flag) as unknown[]);
    else values[key] = spec.parse(text as string, spec.flag);
  }
  return { values: values as OptionValues<O>, given, positionals: parsed.positionals };
}

/** One section of a command's help: a heading and the options under it, in the order shown. */
export interface HelpSection {
  heading?: string;
  options: readonly OptionSpec[];
}

const HELP_COLUMN = 23;

function helpLine(spec: OptionSpec): string {
  const left = `  --${spec.flag}${spec.meta ? ` ${spec.meta}` : ''}`;
  const shown =
    spec.defaultText !== undefined
      ? `: ${spec.defaultText}`
      : spec.default !== undefined && spec.kind !== 'switch'
        ? ` ${String(spec.default)}`
        : '';
  const text = `${spec.help}${shown ? ` (default${shown})` : ''}`;
  const pad = left.length + 1 >= HELP_COLUMN ? `${left}\n${' '.repeat(HELP_COLUMN)}` : left.padEnd(HELP_COLUMN);
  return `${pad}${text.replace(/\n/g, `\n${' '.repeat(HELP_COLUMN)}`)}`;
}

/** The --help text: a usage line, a paragraph, then each section's options with their defaults. */
export function helpText(usage: string, about: string, sections: readonly HelpSection[], footer?: string): string {
  const parts = [usage, '', about];
  for (const s of sections) parts.push('', ...(s.heading ? [s.heading] : []), ...s.options.map(helpLine));
  if (footer) parts.push('', footer);
  return parts.join('\n');
}

/* ---- option builders: one per kind of value, each with the project's one message pattern ---- */

interface Common<T> {
  help: string;
  meta?: string;
  default?: T;
  defaultText?: string;
}

function numberIn(
  text: string,
  flag: string,
  o: { min?: number; max?: number; above?: number; integer?: boolean },
): number {
  const value = Number(text);
  const trimmed = text.trim();
  if (o.integer) {
    const min = o.min ?? 0;
    const max = o.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(value) || value < min || value > max)
      throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got "${text}")`);
    return value;
  }
  if (trimmed === '' || !Number.isFinite(value))
    throw new UsageError(`--${flag} must be ${o.above === 0 ? 'a positive number' : 'a number ≥ 0'} (got "${text}")`);
  if (o.above !== undefined && !(value > o.above))
    throw new UsageError(`--${flag} must be a positive number (got "${text}")`);
  if (o.min !== undefined && value < o.min)
    throw new UsageError(`--${flag} must be a number ≥ ${o.min} (got "${text}")`);
  if (o.max !== undefined && value > o.max) throw new UsageError(`--${flag} must be at most ${o.max} (got "${text}")`);
  return value;
}

export function positiveNumberOption(
  flag: string,
  o: Common<number> & { default: number; max?: number },
): DefaultedSpec<number>;
export function positiveNumberOption(flag: string, o: Common<number> & { max?: number }): OptionSpec<number>;
export function positiveNumberOption(flag: string, o: Common<number> & { max?: number }): OptionSpec<number> {
  return {
    flag,
    kind: 'value',
    ...o,
    parse: (t, f) => numberIn(t, f, { above: 0, ...(o.max !== undefined ? { max: o.max } : {}) }),
  };
}

export function nonNegativeNumberOption(flag: string, o: Common<number> & { default: number }): DefaultedSpec<number>;
export function nonNegativeNumberOption(flag: string, o: Common<number>): OptionSpec<number>;
export function nonNegativeNumberOption(flag: string, o: Common<number>): OptionSpec<number> {
  return { flag, kind: 'value', ...o, parse: (t, f) => numberIn(t, f, { min: 0 }) };
}

export function integerOption(
  flag: string,
  o: Common<number> & { min: number; max: number; default: number },
): DefaultedSpec<number>;
export function integerOption(flag: string, o: Common<number> & { min: number; max: number }): OptionSpec<number>;
export function integerOption(flag: string, o: Common<number> & { min: number; max: number }): OptionSpec<number> {
  return {
    flag,
    kind: 'value',
    help: o.help,
    ...(o.meta ? { meta: o.meta } : {}),
    ...(o.default !== undefined ? { default: o.default } : {}),
    ...(o.defaultText ? { defaultText: o.defaultText } : {}),
    parse: (t, f) => numberIn(t, f, { integer: true, min: o.min, max: o.max }),
  };
}

export function choiceOption<T extends string>(
  flag: string,
  choices: readonly T[],
  o: Common<T> & { default: T },
): DefaultedSpec<T>;
export function choiceOption<T extends string>(flag: string, choices: readonly T[], o: Common<T>): OptionSpec<T>;
export function choiceOption<T extends string>(flag: string, choices: readonly T[], o: Common<T>): OptionSpec<T> {
  return { flag, kind: 'value', ...o, parse: (t, f) => oneOfChoices(t, f, choices) };
}

export function oneOfChoices<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text))
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')} (got "${text}")`);
  return text as T;
}

/** A TCP/UDP port, 0 for a free one. */
export function portOption(flag: string, o: Common<number> & { default: number }): DefaultedSpec<number> {
  return {
    flag,
    kind: 'value',
    ...o,
    parse: (t, f) => {
      if (!/^\d+$/.test(t.trim()) || Number(t) > 65535)
        throw new UsageError(`--${f} must be a port from 0 to 65535 (got "${t}")`);
      return Number(t);
    },
  };
}

/** A string taken as it is (a path, a name checked later). */
export function textOption(flag: string, o: Common<string> & { default: string }): DefaultedSpec<string>;
export function textOption(flag: string, o: Common<string>): OptionSpec<string>;
export function textOption(flag: string, o: Common<string>): OptionSpec<string> {
  return { flag, kind: 'value', ...o, parse: (t) => t };
}

/** A value with its own parser (a work spec, a MODEL:µs list…). */
export function customOption<T>(
  flag: string,
  parse: (text: string, flag: string) => T,
  o: Common<T> & { default: T },
): DefaultedSpec<T>;
export function customOption<T>(flag: string, parse: (text: string, flag: string) => T, o: Common<T>): OptionSpec<T>;
export function customOption<T>(flag: string, parse: (text: string, flag: string) => T, o: Common<T>): OptionSpec<T> {
  return { flag, kind: 'value', ...o, parse };
}

export function switchOption(flag: string, help: string): DefaultedSpec<boolean> {
  return { flag, kind: 'switch', help, default: false, parse: () => true };
}

/** A flag given any number of times; each value is kept as it is, in order. */
export function repeatedOption(flag: string, o: { help: string; meta?: string }): OptionSpec<string[]> {
  return { flag, kind: 'repeated', ...o, parse: (t) => [t] };
}
