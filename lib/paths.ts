/**
 * Paths of compiled entry points. Measured processes always run the compiled JS in dist/, whether the caller is
 * itself compiled (dist/…) or TypeScript source loaded by vitest.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const insideDist = here.split(path.sep).includes('dist');
/** The project root (the folder holding package.json). */
export const PROJECT_ROOT = insideDist ? path.resolve(here, '..', '..') : path.resolve(here, '..');
export const DIST_ROOT = path.join(PROJECT_ROOT, 'dist');

/** dist path of a source file given from the project root, e.g. compiled('servers/serve.ts'). */
export function compiled(sourcePath: string): string {
  return path.join(DIST_ROOT, sourcePath.replace(/\.ts$/, '.js'));
}
