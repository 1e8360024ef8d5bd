/** gate:validate --from: recorded A/A and A/B sessions judged again, each rate counted from what the gate said. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled } from '../lib/paths.js';
import { fakeRecord } from './helpers/records.js';

/** One --against session's records: both sides of cell "a" in one suite, the head's CPU per message scaled. */
function session(dir: string, headCpuScale: number, baseCpu: readonly number[]): void {
  mkdirSync(dir, { recursive: true });
  const lines = baseCpu.flatMap((cpu, run) =>
    (['base', 'head'] as const).map((side) =>
      JSON.stringify({
        ...fakeRecord({
          model: 'a',
          msgsPerSec: 100,
          run,
          side,
          saturated: true,
          serverCpuPercent: side === 'head' ? cpu * headCpuScale : cpu,
        }),
        suiteId: path.basename(path.dirname(dir)) + path.basename(dir),
      }),
    ),
  );
  writeFileSync(path.join(dir, 'records.jsonl'), lines.join('\n') + '\n');
}

describe('gate:validate --from', () => {
  it('counts false alarms, those that named a regression, and detections', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'gate-validate-'));
    try {
      const steady = [90, 91, 89, 90, 90.5, 89.5];
      // Trial 1: the gate decides both sessions. Trial 2: an A/A too spread to judge (undecided, so it fails).
      session(path.join(root, 'trial-1', 'aa'), 1, steady);
      session(path.join(root, 'trial-1', 'ab'), 1.3, steady);
      session(path.join(root, 'trial-2', 'aa'), 1, [60, 120, 75, 110, 65, 100]);
      session(path.join(root, 'trial-2', 'ab'), 1.3, steady);
      const r = spawnSync(process.execPath, [compiled('scripts/gate-validate.ts'), '--from', root], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/false alarms \(A\/A\): +1\/2 = 50%/);
      expect(r.stdout).toMatch(/of which a regression named \(all, with --allow-inconclusive\): +0\/2 = 0%/);
      expect(r.stdout).toMatch(/detections \(A\/B\): +2\/2 = 100%/);
      expect(r.stderr).toMatch(/trial 1\/2: A\/A pass/);
      expect(r.stderr).toMatch(/trial 2\/2: A\/A FALSE ALARM \(FAIL: nothing was gated/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
