/**
 * `npm run build`'s second half: builds the C programs (the epoll ceiling server and the native TCP load driver)
 * with the system C compiler (lib/native.ts: buildNative). With no compiler, or a failed build, it records why, and
 * the native row or driver is skipped with that reason rather than faked.
 */
import { buildNative, NATIVE_TARGETS } from '../lib/native.js';

for (const t of NATIVE_TARGETS) {
  const skipped = buildNative(t);
  if (skipped) process.stderr.write(`${t.label} will be skipped: ${skipped}\n`);
}
