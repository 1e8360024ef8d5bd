/**
 * The on-disk layout of one bench invocation: results/<suiteId>/ with records.jsonl (appended per run, so an
 * interrupted suite keeps what it measured), then summary.json, report.md, results.csv when it ends.
 * results/LATEST names the newest suite.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from './record.js';
import { UsageError } from '../../lib/cli-args.js';
import { DEFAULTS } from '../../lib/defaults.js';
import { checkWritable, fileError, makeDirectory, makeNewDirectory } from '../../lib/files.js';

export function newSuiteId(now = new Date()): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-');
}

export class ResultsDir {
  readonly dir: string;
  readonly recordsFile: string;

  /** An existing suite's folder (made if missing): `create` makes a new one for a new suite. */
  constructor(
    readonly root: string,
    readonly suiteId: string,
    markLatest = true,
  ) {
    this.dir = path.join(root, suiteId);
    this.recordsFile = path.join(this.dir, 'records.jsonl');
    makeDirectory(this.dir);
    if (markLatest) this.markLatest();
  }

  /**
   * A new suite's folder under `root`, its own even when another suite started in the same second (then named
   * <id>-2…), checked to hold `bytes` more before anything runs.
   */
  static create(root: string, suiteId: string, bytes = 0): ResultsDir {
    const name = makeNewDirectory(root, suiteId);
    const dir = new ResultsDir(root, name, false);
    try {
      checkWritable(dir.dir, bytes);
    } catch (error) {
      rmSync(dir.dir, { recursive: true, force: true }); // nothing of it is kept
      throw error;
    }
    dir.markLatest();
    return dir;
  }

  /** Writes the suite's parameters (suite.json). */
  writeParams(params: SuiteParams): void {
    this.write(PARAMS_FILE, JSON.stringify(params, null, 2) + '\n');
  }

  /** Names this suite in <root>/LATEST, the one a bare results root stands for. */
  markLatest(): void {
    const file = path.join(this.root, 'LATEST');
    try {
      writeFileSync(file, this.suiteId + '\n');
    } catch (error) {
      throw fileError('write', file, error);
    }
  }

  /** The suite a records file belongs to (results/<suite>/records.jsonl). */
  static of(recordsFile: string): ResultsDir {
    const dir = path.dirname(path.resolve(recordsFile));
    return new ResultsDir(path.dirname(dir), path.basename(dir), false);
  }

  /** Appends one record (a suite's RunRecord, or a micro run's MicroRecord) as a JSON line. */
  append(record: object): void {
    try {
      appendFileSync(this.recordsFile, JSON.stringify(record) + '\n');
    } catch (error) {
      throw fileError('write', this.recordsFile, error);
    }
  }

  write(name: string, content: string): string {
    const file = path.join(this.dir, name);
    try {
      makeDirectory(path.dirname(file));
      writeFileSync(file, content);
    } catch (error) {
      throw fileError('write', file, error);
    }
    return file;
  }
}

/** Writes a suite's records as the baseline the regression gate compares with (<root>/baseline/records.jsonl). */
export function writeBaseline(root: string, records: readonly RunRecord[]): string {
  const dir = new ResultsDir(root, 'baseline', false);
  dir.write('records.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir.recordsFile;
}

/** What judging a suite again needs besides its records, written once when it starts (suite.json). */
export interface SuiteParams {
  suiteId: string;
  /** The verdict's equivalence margin it was judged at, %. */
  marginPercent: number;
  profile: string;
  /** The command line it ran with. */
  argv: string[];
  started: string;
}

const PARAMS_FILE = 'suite.json';

/**
 * A saved suite's parameters: its suite.json, or for a suite from before that file, what its records say (the margin
 * once copied into every record), or the defaults.
 */
export function readSuiteParams(dir: string, records: readonly RunRecord[]): Pick<SuiteParams, 'marginPercent'> {
  try {
    return JSON.parse(readFileSync(path.join(dir, PARAMS_FILE), 'utf8')) as SuiteParams;
  } catch {
    return {
      marginPercent:
        records.find((r) => r.plan?.marginPercent !== undefined)?.plan?.marginPercent ?? DEFAULTS.marginPercent,
    };
  }
}

export class RecordsFileError extends UsageError {}

/** Reads records from a suite directory, a records.jsonl, or a JSON array file. */
export function readRecords(location: string, warn: (message: string) => void = warnOnStderr): RunRecord[] {
  return readRecordsFile(recordsFileFor(location), warn);
}

function warnOnStderr(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

/** The records file a location names: itself, <dir>/records.jsonl, or <root>/<LATEST>/records.jsonl. */
export function recordsFileFor(location: string): string {
  if (!existsSync(location)) throw new RecordsFileError(`no results at ${location}`);
  let file = location;
  if (statSync(location).isDirectory()) {
    const jsonl = path.join(location, 'records.jsonl');
    if (existsSync(jsonl)) file = jsonl;
    else {
      const latest = path.join(location, 'LATEST');
      if (!existsSync(latest)) throw new RecordsFileError(`${location} holds no records.jsonl`);
      file = path.join(location, readFileSync(latest, 'utf8').trim(), 'records.jsonl');
    }
  }
  if (!existsSync(file)) throw new RecordsFileError(`no results at ${file}`);
  return file;
}

/**
 * A JSON array file, or JSON lines. Every run is appended as one line ending in a newline, so an interrupted write
 * leaves at most the last line torn (no newline at its end): that line is skipped with a warning naming it, and the
 * runs before it are kept. Any other bad line is an error that names its line number.
 */
function readRecordsFile(file: string, warn: (message: string) => void = warnOnStderr): RunRecord[] {
  const text = readFileSync(file, 'utf8');
  if (text.trimStart().startsWith('[')) {
    let records: unknown[];
    try {
      records = JSON.parse(text) as unknown[];
    } catch (error) {
      throw new RecordsFileError(`${file} is not a results file (${(error as Error).message})`);
    }
    records.forEach((r, i) => {
      if (!isRunRecord(r))
        throw new RecordsFileError(`${file} is not a results file: item ${i + 1} is not a run record`);
    });
    return records as RunRecord[];
  }
  const lines = text.split('\n');
  const records: RunRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const torn = i === lines.length - 1; // the final piece has no newline after it: its write was cut short
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      if (torn) {
        warn(`${file}: skipped line ${i + 1}, an incomplete last line (the suite was interrupted while writing it)`);
        return;
      }
      throw new RecordsFileError(
        `${file} is not a results file: line ${i + 1} is not valid JSON (${(error as Error).message})`,
      );
    }
    if (!isRunRecord(record))
      throw new RecordsFileError(`${file} is not a results file: line ${i + 1} is not a run record`);
    records.push(record);
  });
  return records;
}

function isRunRecord(r: unknown): r is RunRecord {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Partial<RunRecord>;
  return (
    typeof o.model === 'string' && typeof o.workload === 'string' && typeof o.params === 'object' && o.params !== null
  );
}
