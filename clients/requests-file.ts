/**
 * Request/response mode's input: the requests a driver sends and the response each must get back, for a server
 * whose handler does not echo. Both TCP drivers take it (clients/tcp.ts from the pairs, the C driver from the file).
 *
 * The file, binary, every integer an unsigned 32-bit big-endian:
 *   - magic: the 8 bytes "CBREQ01\n"
 *   - K, the number of requests (1 to 1,000,000)
 *   - then K times: reqLen, reqLen bytes (the request payload), respLen, respLen bytes (the expected response)
 * Each request goes out as a frame of the framed protocol (its length, then its payload), which is the very bytes the
 * file holds for it; a response is a frame too. No payload may exceed 64 MiB, and nothing may follow the K pairs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { MAX_PAYLOAD_BYTES } from '../servers/protocol.js';

/** What a response must match: its expected bytes exactly, only its length, or nothing (any frame counts). */
export { VERIFY_MODES, type VerifyMode } from '../servers/user-handler.js';
import type { VerifyMode } from '../servers/user-handler.js';

export interface RequestPair {
  request: Buffer;
  response: Buffer;
}

/** The requests a driver sends, in request/response mode, and how their responses are checked. */
export interface RequestSet {
  pairs: readonly RequestPair[];
  verify: VerifyMode;
  /** The file the pairs were read from, if any: the native driver reads it itself instead of a copy. */
  file?: string;
}

export const REQUESTS_MAGIC = Buffer.from('CBREQ01\n', 'latin1');
export const MAX_REQUESTS = 1_000_000;

/** The file's bytes for these pairs. Throws on a count or a payload out of bounds. */
export function encodeRequests(pairs: readonly RequestPair[]): Buffer {
  if (pairs.length < 1 || pairs.length > MAX_REQUESTS)
    throw new Error(`a requests file holds 1 to ${MAX_REQUESTS} requests (got ${pairs.length})`);
  const parts: Buffer[] = [REQUESTS_MAGIC, u32(pairs.length)];
  pairs.forEach(({ request, response }, i) => {
    for (const [what, payload] of [
      ['request', request],
      ['response', response],
    ] as const) {
      if (payload.length > MAX_PAYLOAD_BYTES)
        throw new Error(`${what} ${i} is ${payload.length} bytes (at most ${MAX_PAYLOAD_BYTES})`);
      parts.push(u32(payload.length), payload);
    }
  });
  return Buffer.concat(parts);
}

/** The pairs a requests file's bytes hold; `name` (the file) is named in every error. */
export function decodeRequests(data: Buffer, name: string): RequestPair[] {
  const fail = (why: string): never => {
    throw new Error(`requests file ${name}: ${why}`);
  };
  if (data.length < REQUESTS_MAGIC.length || !data.subarray(0, REQUESTS_MAGIC.length).equals(REQUESTS_MAGIC))
    fail('not a requests file (it does not start with CBREQ01)');
  if (data.length < 12) fail('truncated: no request count');
  const count = data.readUInt32BE(8);
  if (count < 1 || count > MAX_REQUESTS) fail(`${count} requests (must be 1 to ${MAX_REQUESTS})`);
  const pairs: RequestPair[] = [];
  let pos = 12;
  const payload = (what: string, i: number): Buffer => {
    if (data.length - pos < 4) fail(`truncated in ${what} ${i} of ${count} (its length)`);
    const length = data.readUInt32BE(pos);
    if (length > MAX_PAYLOAD_BYTES) fail(`${what} ${i} is ${length} bytes (at most ${MAX_PAYLOAD_BYTES})`);
    if (data.length - pos - 4 < length) fail(`truncated in ${what} ${i} of ${count} (${length} bytes announced)`);
    const bytes = data.subarray(pos + 4, pos + 4 + length);
    pos += 4 + length;
    return bytes;
  };
  for (let i = 0; i < count; i++) {
    const request = payload('request', i);
    pairs.push({ request, response: payload('response', i) });
  }
  if (pos !== data.length) fail(`${data.length - pos} bytes after its ${count} requests`);
  return pairs;
}

export function writeRequestsFile(path: string, pairs: readonly RequestPair[]): void {
  let data: Buffer;
  try {
    data = encodeRequests(pairs);
  } catch (error) {
    throw new Error(`requests file ${path}: ${(error as Error).message}`);
  }
  writeFileSync(path, data);
}

/** The pairs of a requests file (they share its one buffer). Errors name the file and what is wrong with it. */
export function readRequestsFile(path: string): RequestPair[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw new Error(`requests file ${path} cannot be read: ${(error as Error).message}`);
  }
  return decodeRequests(data, path);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}
