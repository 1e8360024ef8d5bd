/**
 * HTTP load through autocannon's programmatic API: a discarded warmup run, then the measured run. POST bodies of
 * the workload's size are verified byte for byte (autocannon's expectBody counts mismatches); GET checks the fixed
 * body. autocannon's latencies are whole milliseconds: reported as µs with latencyResolution 'ms'.
 */
import type { LoadParams } from './load-params.js';
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { fillPayload } from '../lib/seeded-bytes.js';
import { HTTP_GET_BODY } from '../servers/http-echo.js';
import { noErrors, type LoadResult } from './load-result.js';
import { measureClientUsage } from './usage.js';

/** HTTP load: inFlight is autocannon's pipelining, connect-per-request its reconnectRate 1. */
export type HttpLoadOptions = LoadParams;

/** A printable body (autocannon compares bodies as strings): hex of random bytes, or of the seed's (--seed). */
export function httpBody(bytes: number, seed?: number): string {
  const raw = new Uint8Array(Math.ceil(bytes / 2));
  fillPayload(raw, 0, seed, (b) => b.set(randomBytes(b.length)));
  return Buffer.from(raw).toString('hex').slice(0, bytes);
}

function cannonOptions(o: HttpLoadOptions, body: string | undefined, durationSec: number): autocannon.Options {
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}/`,
    connections: o.connections,
    pipelining: o.inFlight,
    duration: durationSec,
    timeout: Math.max(1, Math.ceil(o.timeoutMs / 1000)),
    ...(body !== undefined
      ? { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, expectBody: body }
      : { method: 'GET', expectBody: HTTP_GET_BODY.toString() }),
    ...(o.rate !== undefined ? { overallRate: o.rate } : {}),
    ...(o.pattern === 'connect-per-request' ? { reconnectRate: 1 } : {}),
  } as autocannon.Options;
}

export async function runAutocannonLoad(o: HttpLoadOptions): Promise<LoadResult> {
  const body = o.payloadBytes > 0 ? httpBody(o.payloadBytes, o.seed) : undefined;
  if (o.warmupSec > 0) await autocannon(cannonOptions(o, body, o.warmupSec));
  o.onPhase?.('measure');
  const usage = measureClientUsage();
  const r = await autocannon(cannonOptions(o, body, o.durationSec));
  const client = usage.finish();
  o.onPhase?.('done');
  const seconds = r.duration;
  const messages = Math.max(0, r['2xx'] - r.mismatches);
  const ms = (v: number | undefined): number => Math.round((v ?? 0) * 1000);
  const lat = r.latency as unknown as Record<string, number>;
  return {
    driver: 'autocannon',
    seconds,
    messages,
    bytes: r.throughput.total,
    msgsPerSec: messages / seconds,
    bytesPerSec: r.throughput.total / seconds,
    latency: {
      count: lat.totalCount ?? messages,
      mean: ms(lat.mean),
      p50: ms(lat.p50),
      p90: ms(lat.p90),
      p99: ms(lat.p99),
      p999: ms(lat.p99_9),
      max: ms(lat.max),
    },
    latencyResolution: 'ms',
    errors: {
      ...noErrors(),
      mismatches: r.mismatches,
      errors: Math.max(0, r.errors - r.timeouts),
      timeouts: r.timeouts,
      non2xx: r.non2xx,
    },
    client,
  };
}
