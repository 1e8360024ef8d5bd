/**
 * Every temporary file or directory a test run makes (its own, its servers', valgrind's dumps) goes under one
 * directory of its own, removed when the run ends: tests that mkdtemp under os.tmpdir() left 786 directories in /tmp
 * over one day's runs. Test files inherit TMPDIR from here (vitest starts its workers after global setup).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-test-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  };
}
