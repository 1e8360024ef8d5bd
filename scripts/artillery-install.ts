/**
 * `npm run artillery:install`: installs the pinned Artillery (tools/artillery) into a cache folder outside the repo,
 * for running exported scripts here and for the export test. Does nothing when that version is already there.
 */
import { runCommand } from '../lib/lifecycle.js';
import {
  ARTILLERY_VERSION,
  artilleryAvailable,
  artilleryBinary,
  installArtillery,
} from '../bench/export/artillery-tool.js';

async function main(): Promise<void> {
  if (!artilleryAvailable().ok) {
    process.stderr.write(`installing Artillery ${ARTILLERY_VERSION} (about 600 MB) …\n`);
    installArtillery();
  }
  const now = artilleryAvailable();
  if (!now.ok) throw new Error(now.reason);
  process.stdout.write(`${artilleryBinary()}\n`);
}

runCommand(main);
