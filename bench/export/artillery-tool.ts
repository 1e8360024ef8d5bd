/**
 * Artillery, the distributed load engine the export targets, as an optional tool. It weighs about 600 MB and 970
 * packages (cloud SDKs, OpenTelemetry, Playwright), twice conbench's own dependencies, so it is not a dependency:
 * `npm run artillery:install` installs the version pinned in tools/artillery (package.json + package-lock.json)
 * into a cache folder outside the repo, and the export test runs only when it is there.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { Availability } from '../../servers/registry.js';
import { makeDirectory } from '../../lib/files.js';

const TOOL_DIR = path.join(PROJECT_ROOT, 'tools', 'artillery');

export const ARTILLERY_VERSION: string = (
  JSON.parse(readFileSync(path.join(TOOL_DIR, 'package.json'), 'utf8')) as { dependencies: { artillery: string } }
).dependencies.artillery;

/**
 * Environment for running Artillery here: no usage telemetry (this machine reaches no such service), and no browser
 * download for its Playwright engine, which HTTP scripts do not use.
 */
export const ARTILLERY_ENV: NodeJS.ProcessEnv = {
  ARTILLERY_DISABLE_TELEMETRY: 'true',
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1',
};

/** Where it is installed: $CONBENCH_ARTILLERY_DIR, else the user's cache folder, one folder per version. */
export function artilleryDir(): string {
  if (process.env.CONBENCH_ARTILLERY_DIR) return path.resolve(process.env.CONBENCH_ARTILLERY_DIR);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'conbench', `artillery-${ARTILLERY_VERSION}`);
}

/**
 * Artillery 2.0.21 sends a usage event even with ARTILLERY_DISABLE_TELEMETRY set (lib/telemetry.js then only
 * anonymizes it), and where the network is closed its retries add ~12 s to every run. Its only user of posthog-node
 * requires it inside a try/catch and falls back to no telemetry, so the install removes that package.
 */
const TELEMETRY_PACKAGE = 'posthog-node';

export function artilleryBinary(): string {
  return path.join(artilleryDir(), 'node_modules', '.bin', 'artillery');
}

export function artilleryAvailable(): Availability {
  const manifest = path.join(artilleryDir(), 'node_modules', 'artillery', 'package.json');
  if (!existsSync(artilleryBinary()) || !existsSync(manifest))
    return { ok: false, reason: `Artillery ${ARTILLERY_VERSION} is not installed (npm run artillery:install)` };
  const installed = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  if (installed !== ARTILLERY_VERSION)
    return {
      ok: false,
      reason: `Artillery ${installed} is installed, ${ARTILLERY_VERSION} expected (npm run artillery:install)`,
    };
  if (existsSync(path.join(artilleryDir(), 'node_modules', TELEMETRY_PACKAGE)))
    return { ok: false, reason: `Artillery in ${artilleryDir()} still has its telemetry (npm run artillery:install)` };
  return { ok: true };
}

/** npm ci of the pinned manifest and lockfile in the cache folder. Returns the folder. */
export function installArtillery(): string {
  const dir = artilleryDir();
  makeDirectory(dir);
  for (const file of ['package.json', 'package-lock.json'])
    copyFileSync(path.join(TOOL_DIR, file), path.join(dir, file));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    stdio: 'inherit',
    env: { ...process.env, ...ARTILLERY_ENV },
  });
  if (r.status !== 0)
    throw new Error(`npm ci of Artillery ${ARTILLERY_VERSION} in ${dir} failed (exit ${r.status ?? r.signal})`);
  rmSync(path.join(dir, 'node_modules', TELEMETRY_PACKAGE), { recursive: true, force: true });
  return dir;
}
