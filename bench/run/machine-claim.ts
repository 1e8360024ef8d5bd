/**
 * Suites that measure on the same machine at once disturb each other: two loads on two cores corrupt both. Each suite
 * leaves a note with its pid in a shared folder while it runs, and a suite that starts beside another is told which
 * one (its runs are then mostly set aside as disturbed, and a disturbance that persists stops it: see
 * disturbance.ts). A note whose process is gone (a suite killed with SIGKILL) is ignored and removed.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDirectory } from '../../lib/files.js';

export interface SuiteNote {
  pid: number;
  /** ISO time it started. */
  started: string;
  /** Its command line. */
  command: string;
}

function notesDir(): string {
  return process.env.CONBENCH_SUITES_DIR ?? path.join(os.tmpdir(), 'conbench-suites');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The other suites measuring on this machine now. */
export function otherSuites(): SuiteNote[] {
  const dir = notesDir();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: SuiteNote[] = [];
  for (const name of names) {
    const pid = Number(path.basename(name, '.json'));
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!alive(pid)) {
      rmSync(path.join(dir, name), { force: true });
      continue;
    }
    try {
      out.push(JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as SuiteNote);
    } catch {
      // being written: its process is alive, so it is a suite
      out.push({ pid, started: '?', command: '?' });
    }
  }
  return out;
}

/** Leaves this suite's note until the process exits. Best effort: a folder that cannot be written claims nothing. */
export function claimMachine(): void {
  const dir = notesDir();
  const file = path.join(dir, `${process.pid}.json`);
  try {
    makeDirectory(dir);
    const note: SuiteNote = {
      pid: process.pid,
      started: new Date().toISOString(),
      command: process.argv.slice(1).join(' '),
    };
    writeFileSync(file, JSON.stringify(note));
    process.once('exit', () => rmSync(file, { force: true }));
  } catch {
    // no note: the other suite will not be told, and the disturbance rules still see it
  }
}

/** The warning for a suite that starts beside others, or undefined. */
export function busyWarning(others: readonly SuiteNote[]): string | undefined {
  if (others.length === 0) return undefined;
  const each = others
    .map((o) => `pid ${o.pid}${o.started !== '?' ? `, since ${o.started.slice(11, 19)} UTC` : ''}: ${o.command}`)
    .join('; ');
  return `the CPUs are busy: ${others.length === 1 ? 'another conbench suite is' : `${others.length} other conbench suites are`} measuring on this machine (${each}). Both measure each other's load: runs are set aside while it lasts, and the suite stops if it persists (--if-disturbed). Wait for it, or stop it, for figures worth keeping`;
}
