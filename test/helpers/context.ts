/** Settings and run contexts for tests that run cells directly, built the bench's way (settingsFromArgs). */
import { settingsFromArgs, type Settings } from '../../bench/data/settings.js';
import type { CellContext } from '../../bench/run/run-cell.js';
import { localHost } from '../../bench/run/server-host.js';
import { captureEnvironment } from '../../bench/run/env.js';

/** The bench's settings for these flags (every run kept: a test wants a fixed number), with overrides. */
export function testSettings(args: readonly string[] = [], over: Partial<Settings> = {}): Settings {
  const s = settingsFromArgs(['--keep-every-run', ...args]);
  if (typeof s === 'string') throw new Error(`not settings: ${s}`);
  return { ...s, ...over };
}

const host = localHost(false);

/** A context for running cells on this machine, unpinned. */
export function testContext(
  settings: Partial<Settings> = {},
  over: Partial<Omit<CellContext, 'settings'>> = {},
): CellContext {
  return {
    settings: testSettings([], settings),
    suiteId: 't',
    env: captureEnvironment(),
    split: host.cpuSplit('off'),
    host,
    ...over,
  };
}
