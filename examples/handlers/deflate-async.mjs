// deflate-async.mjs: compression on libuv's thread pool (zlib.deflate, level 6), standing for a server
// compressing responses without blocking its event loop. The response is the compressed bytes,
// identical to deflate-sync.mjs's for the same request.
//
// Cost: the same zlib work as deflate-sync (roughly 15-25 µs for a few hundred bytes, ~130 µs for
// 64 KiB), plus a hand-off to a pool thread and back (one call at a time on the 2-vCPU development VM:
// about 70 µs for a 64 B request): for small requests the hand-off costs more than the work, so the
// async version is slower per request and wins only when the work is large enough to be worth moving
// off the loop. Pool threads: UV_THREADPOOL_SIZE (default 4) per process.
//
// Deterministic for a given zlib build, like deflate-sync.mjs.

import { deflate } from 'node:zlib';
import { promisify } from 'node:util';

const deflateAsync = promisify(deflate);

/** @param {Buffer} request */
export default function deflateAsyncHandler(request) {
  return deflateAsync(request, { level: 6 });
}
