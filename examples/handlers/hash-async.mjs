// hash-async.mjs: the same kind of CPU work as hash-sync.mjs, handed to libuv's thread pool, standing
// for password hashing at login (crypto.pbkdf2, crypto.scrypt) or any native addon call that runs off
// the main thread. PBKDF2-HMAC-SHA256 of the request with a fixed salt and ITERATIONS iterations; the
// response is the 32-byte derived key in hex (64 characters).
//
// Cost measured on the 2-vCPU development VM (Node 20.20.2, loops of 300-500 calls under /tmp, the host
// busy with other runs): about 180-225 µs of CPU per request, 190-280 µs end to end one at a time through
// the pool; hardly dependent on the request size (the request is hashed once, as the HMAC key).
// The event loop only queues the job and runs the callback (a few µs), so it stays responsive, but the
// work is still CPU: it runs on the pool's UV_THREADPOOL_SIZE threads (default 4), so throughput is
// bounded by min(pool threads, cores) / ~200 µs per process, requests beyond the pool size queue up, and
// each request costs thread hand-offs (context switches) that hash-sync does not pay. More processes
// (cluster, a fork pool) multiply the pools; worker_threads share their process's one pool.

import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
const SALT = 'conbench-example-salt';
const ITERATIONS = 1000;

/** Runs one derivation, so the thread pool (created lazily on first use) exists before the first request. */
export async function setup() {
  await pbkdf2Async('warm-up', SALT, 1, 32, 'sha256');
}

/** @param {Buffer} request */
export default async function hashAsync(request) {
  const key = await pbkdf2Async(request, SALT, ITERATIONS, 32, 'sha256');
  return key.toString('hex');
}
