/**
 * The requests a handler is sent (`--requests FILE`): JSON lines — a JSON string is UTF-8 text, `{"base64": "…"}` is
 * bytes — or a folder of files, one request each (in name order). Without it, a generated set of bodies of the
 * workload's payload size, random or from --seed. The drivers send them in rotation, so a response can be known in
 * advance; with at least as many distinct requests as frames in flight on a connection plus one, a response that comes
 * back out of order is a mismatch.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { UsageError } from '../../lib/cli-args.js';
import { fillPayload } from '../../lib/seeded-bytes.js';

/** Distinct requests generated when none are given: enough that rotation, not one repeated body, is what is sent. */
export const GENERATED_REQUESTS = 16;

/** The requests of a --requests file or folder. */
export function readRequests(location: string): Buffer[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(location);
  } catch {
    throw new UsageError(`--requests ${location}: no such file or folder`);
  }
  if (stat.isDirectory()) {
    const files = readdirSync(location)
      .filter((f) => statSync(path.join(location, f)).isFile())
      .sort();
    if (files.length === 0) throw new UsageError(`--requests ${location}: the folder holds no files`);
    return files.map((f) => readFileSync(path.join(location, f)));
  }
  const lines = readFileSync(location, 'utf8').split('\n');
  const out: Buffer[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`--requests ${location}: line ${i + 1} is not JSON (${(error as Error).message})`);
    }
    if (typeof value === 'string') out.push(Buffer.from(value, 'utf8'));
    else if (typeof value === 'object' && value !== null && typeof (value as { base64?: unknown }).base64 === 'string')
      out.push(Buffer.from((value as { base64: string }).base64, 'base64'));
    else
      throw new UsageError(
        `--requests ${location}: line ${i + 1} must be a JSON string (text) or {"base64": "…"} (bytes)`,
      );
  }
  if (out.length === 0) throw new UsageError(`--requests ${location}: no request in it`);
  return out;
}

/** `count` bodies of `bytes` each: random, or from the seed (each body its own seed: seed + i). */
export function generatedRequests(bytes: number, count: number, seed?: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const body = Buffer.alloc(bytes);
    fillPayload(body, 0, seed !== undefined ? seed + i : undefined, randomFillSync);
    return body;
  });
}
