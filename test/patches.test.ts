import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';

// gate:validate's A/B sessions apply these to a clone of HEAD: a patch that no longer applies would fail every trial.
const dir = path.join('test', 'fixtures', 'patches');

describe('the real code changes gate:validate applies', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.patch')))('%s still applies to the tree', (file) => {
    expect(() => execFileSync('git', ['apply', '--check', path.join(dir, file)], { stdio: 'pipe' })).not.toThrow();
  });
});
