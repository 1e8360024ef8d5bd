/**
 * HTTP load through wrk (the C load generator, from the distribution's packages; never downloaded by us). A Lua
 * script sets the request, checks every response body, and prints one JSON line at the end with µs percentiles;
 * parseWrkOutput turns wrk's output into a LoadResult and names wrk when the output is not what it expects.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noErrors, type LoadResult } from './load-result.js';
import { httpBody, type HttpLoadOptions } from './http-autocannon.js';
import { HTTP_GET_BODY } from '../servers/http-echo.js';
import { track } from '../lib/lifecycle.js';

export const WRK_JSON_PREFIX = 'CONBENCH_WRK ';

export function wrkAvailable(): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: 'wrk is not installed (Debian: apt-get install wrk)' };
  const version = /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1];
  return { ok: true, version: version ?? 'unknown' };
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The Lua script: request, body check per response, JSON summary across threads at the end. */
export function wrkScript(method: 'GET' | 'POST', body: string, expected: string): string {
  return `
wrk.method = ${luaString(method)}
${method === 'POST' ? `wrk.body = ${luaString(body)}\nwrk.headers["Content-Type"] = "application/octet-stream"` : ''}
local expected = ${luaString(expected)}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) mismatches = 0 end
function response(status, headers, body)
  if status >= 200 and status < 300 and body ~= expected then mismatches = mismatches + 1 end
end
function done(summary, latency, requests)
  local m = 0
  for _, t in ipairs(threads) do m = m + (t:get("mismatches") or 0) end
  local e = summary.errors
  io.write(string.format('${WRK_JSON_PREFIX}{"durationUs":%d,"requests":%d,"bytes":%d,"mismatches":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}\\n',
    summary.duration, summary.requests, summary.bytes, m, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
`;
}

export class WrkOutputError extends Error {
  override name = 'WrkOutputError';
}

interface WrkSummary {
  durationUs: number;
  requests: number;
  bytes: number;
  mismatches: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Parses wrk's output (its usual report plus our script's JSON line) into a LoadResult (client usage added by the caller). */
export function parseWrkOutput(stdout: string): Omit<LoadResult, 'client'> {
  const line = stdout.split('\n').find((l) => l.startsWith(WRK_JSON_PREFIX));
  if (!line) {
    const first = stdout.trim().split('\n').slice(0, 3).join(' | ');
    throw new WrkOutputError(`wrk printed no summary line (is the Lua script running?): ${first || '(no output)'}`);
  }
  let s: WrkSummary;
  try {
    s = JSON.parse(line.slice(WRK_JSON_PREFIX.length)) as WrkSummary;
  } catch {
    throw new WrkOutputError(`wrk printed a summary line that is not JSON: ${line}`);
  }
  for (const key of ['durationUs', 'requests', 'bytes', 'p50', 'p99', 'max'] as const) {
    if (typeof s[key] !== 'number' || !Number.isFinite(s[key]))
      throw new WrkOutputError(`wrk summary lacks ${key}: ${line}`);
  }
  const seconds = s.durationUs / 1e6;
  // wrk counts non-2xx/3xx responses in errors.status and still counts them in requests.
  const good = Math.max(0, s.requests - s.status - s.mismatches);
  return {
    driver: 'wrk',
    seconds,
    messages: good,
    bytes: s.bytes,
    msgsPerSec: good / seconds,
    bytesPerSec: s.bytes / seconds,
    latency: {
      count: s.requests,
      mean: Math.round(s.mean),
      p50: s.p50,
      p90: s.p90,
      p99: s.p99,
      p999: s.p999,
      max: s.max,
    },
    latencyResolution: 'us',
    errors: {
      ...noErrors(),
      mismatches: s.mismatches,
      errors: s.connect + s.read + s.write,
      connectFailures: 0,
      timeouts: s.timeout,
      non2xx: s.status,
    },
  };
}

function runWrk(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => reject(new WrkOutputError(`could not run wrk: ${error.message}`)));
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new WrkOutputError(`wrk exited with ${code}: ${(stderr || stdout).trim().slice(0, 300)}`));
      resolve(stdout);
    });
  });
}

/** CPU time (µs) of this process's reaped children so far (cutime + cstime): wrk's, once it has exited. */
function childrenCpuMicros(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) / 100) * 1e6;
  } catch {
    return NaN; // no /proc: CPU unknown
  }
}

export async function runWrkLoad(o: HttpLoadOptions & { threads?: number }): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-wrk-'));
  try {
    const body = o.payloadBytes > 0 ? httpBody(o.payloadBytes, o.seed) : '';
    const script = path.join(dir, 'echo.lua');
    writeFileSync(
      script,
      o.payloadBytes > 0 ? wrkScript('POST', body, body) : wrkScript('GET', '', HTTP_GET_BODY.toString()),
    );
    const threads = Math.max(1, Math.min(o.threads ?? 1, o.connections));
    const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}/`;
    const args = (seconds: number): string[] => [
      '-t',
      String(threads),
      '-c',
      String(o.connections),
      '-d',
      `${Math.max(1, Math.round(seconds))}s`,
      '--timeout',
      `${Math.max(1, Math.ceil(o.timeoutMs / 1000))}s`,
      '-s',
      script,
      url,
    ];
    if (o.warmupSec > 0) await runWrk(args(o.warmupSec));
    o.onPhase?.('measure');
    const cpu0 = childrenCpuMicros();
    const t0 = performance.now();
    const stdout = await runWrk(args(o.durationSec));
    const wallMicros = (performance.now() - t0) * 1000;
    o.onPhase?.('done');
    const cpuPercent = ((childrenCpuMicros() - cpu0) / wallMicros) * 100;
    const parsed = parseWrkOutput(stdout);
    // wrk's threads may use more than one core: saturated when every thread's core is busy.
    const saturated = cpuPercent >= 90 * threads;
    return {
      ...parsed,
      client: {
        cpuPercent,
        saturated,
        ...(saturated ? { reason: `wrk CPU ${cpuPercent.toFixed(0)} % with ${threads} thread(s)` } : {}),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
