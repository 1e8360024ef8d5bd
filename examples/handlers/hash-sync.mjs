// hash-sync.mjs: synchronous CPU work on the thread that received the request, standing for the
// CPU-heavy part of a real handler (a token signature, a checksum, template rendering, image resizing
// in JS). SHA-256 of the request, then ROUNDS further SHA-256 rounds over the digest (a tiny key
// stretch); the response is the final digest in hex (64 characters).
//
// Cost measured on the 2-vCPU development VM (Node 20.20.2, loops of 1000-2000 calls under /tmp, the
// host busy with other runs): about 110-150 µs a request for 64 B to 64 KiB requests (~1 µs a round,
// mostly createHash's per-object overhead, plus one pass over the request). It blocks the event loop for
// all of that time: one loop tops out near 1 s / 120 µs ≈ 8k requests/s per core, other connections
// wait behind it (tail latency), and only more loops on more cores (cluster, a fork pool,
// worker_threads) help; the libuv thread pool is not involved.

import { createHash } from 'node:crypto';

const ROUNDS = 100;

/** @param {Buffer} request */
export default function hashSync(request) {
  let digest = createHash('sha256').update(request).digest();
  for (let i = 0; i < ROUNDS; i++) digest = createHash('sha256').update(digest).digest();
  return digest.toString('hex');
}
