/**
 * The on-disk layout of one bench invocation: results/<suiteId>/ with records.jsonl (appended per run, so an
 * interrupted suite keeps what it measured), then summary.json, report.md, results.csv when it ends.
 * results/LATEST names the newest suite.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from './record.js';
import { UsageError } from '../lib/cli-args.js';

export function newSuiteId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

export class ResultsDir {
  readonly dir: string;
  readonly recordsFile: string;

  constructor(readonly root: string, readonly suiteId: string, markLatest = true) {
    this.dir = path.join(root, suiteId);
    this.recordsFile = path.join(this.dir, 'records.jsonl');
    mkdirSync(this.dir, { recursive: true });
    if (markLatest) this.markLatest();
  }

  /** Names this suite in <root>/LATEST, the one a bare results root stands for. */
  markLatest(): void {
    writeFileSync(path.join(this.root, 'LATEST'), this.suiteId + '\n');
  }

  /** The suite a records file belongs to (results/<suite>/records.jsonl). */
  static of(recordsFile: string): ResultsDir {
    const dir = path.dirname(path.resolve(recordsFile));
    return new ResultsDir(path.dirname(dir), path.basename(dir), false);
  }

  /** Appends one record (a suite's RunRecord, or a micro run's MicroRecord) as a JSON line. */
  append(record: object): void {
    appendFileSync(this.recordsFile, JSON.stringify(record) + '\n');
  }

  write(name: string, content: string): string {
    const file = path.join(this.dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }
}

export class RecordsFileError extends UsageError {}

/** Reads records from a suite directory, a records.jsonl, or a JSON array file. */
export function readRecords(location: string): RunRecord[] {
  return readRecordsFile(recordsFileFor(location));
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

function readRecordsFile(file: string): RunRecord[] {
  const text = readFileSync(file, 'utf8');
  try {
    const records = text.trimStart().startsWith('[')
      ? (JSON.parse(text) as RunRecord[])
      : text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RunRecord);
    for (const r of records) {
      if (typeof r !== 'object' || r === null || typeof r.model !== 'string' || typeof r.workload !== 'string' || !r.params) {
        throw new Error('not a run record');
      }
    }
    return records;
  } catch (error) {
    throw new RecordsFileError(`${file} is not a results file (${(error as Error).message})`);
  }
}

/** Suites under a results root, oldest first. */
export function listSuites(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => existsSync(path.join(root, d, 'records.jsonl')))
    .sort();
}
