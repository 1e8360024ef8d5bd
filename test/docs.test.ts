/**
 * The documentation stays generated and linked: docs/reference.md is what the code's tables produce, and every
 * docs/ file the README or a command's help names exists.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled, PROJECT_ROOT } from '../lib/paths.js';

const docs = (args: string[]) =>
  spawnSync(process.execPath, [compiled('scripts/docs.ts'), ...args], { encoding: 'utf8', timeout: 60_000 });

describe('docs', () => {
  it('docs/reference.md is what `npm run docs` writes from the code', () => {
    const r = docs(['--check']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check fails on a reference that no longer matches the code', () => {
    const stale = path.join(mkdtempSync(path.join(os.tmpdir(), 'conbench-docs-')), 'reference.md');
    writeFileSync(
      stale,
      readFileSync(path.join(PROJECT_ROOT, 'docs/reference.md'), 'utf8').replace(
        'concurrent connections',
        'simultaneous sockets',
      ),
    );
    const r = docs(['--check', '--file', stale]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/out of date with the code: run `npm run docs`/);
  });

  it('every docs/ page the README and the reference name exists', () => {
    const named = new Set<string>();
    for (const file of ['README.md', 'docs/reference.md']) {
      for (const m of readFileSync(path.join(PROJECT_ROOT, file), 'utf8').matchAll(/docs\/[\w.-]+\.md/g))
        named.add(m[0]);
    }
    expect(named.size).toBeGreaterThan(3);
    expect([...named].filter((f) => !existsSync(path.join(PROJECT_ROOT, f)))).toEqual([]);
  });
});
