/**
 * A user's request handler (--handler): loaded and checked in the bench's process before anything runs (a handler
 * that throws, never answers, or answers one request two ways is named with the request, exit 2), run in every Node
 * model where its design runs handler work, and its answers verified by the drivers (a stale answer is a mismatch,
 * exit 1). Network tests use port 0 and stop what they start.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODELS } from '../servers/registry.js';
import { startServer, type ServerProcess } from '../bench/run/server-process.js';
import { declaredAsync, loadHandler, responseBytes } from '../servers/user-handler.js';
import { checkHandler } from '../bench/suite/handler-check.js';
import { readRequests } from '../bench/data/requests.js';
import { readRecords } from '../bench/data/records-file.js';
import { compiled, PROJECT_ROOT } from '../lib/paths.js';
import { DEFAULT_PARAMS } from '../bench/data/axes.js';
import type { Workload } from '../bench/data/workloads.js';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'handlers');
const fixture = (name: string): string => path.join(FIXTURES, name);
const BENCH = compiled('bench/suite/cli.ts');

let running: ServerProcess | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Sends `requests` on one connection, `inFlight` at a time, and returns the response payloads in order. */
function exchange(port: number, requests: readonly Buffer[], inFlight = 2): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const out: Buffer[] = [];
    let sent = 0;
    let got = Buffer.alloc(0);
    const send = (): void => {
      while (sent < requests.length && sent - out.length < inFlight) {
        const r = requests[sent++]!;
        const h = Buffer.alloc(4);
        h.writeUInt32BE(r.length);
        socket.write(Buffer.concat([h, r]));
      }
    };
    socket.on('connect', send);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        const n = got.readUInt32BE(0);
        out.push(Buffer.from(got.subarray(4, 4 + n)));
        got = got.subarray(4 + n);
      }
      if (out.length === requests.length) {
        socket.end();
        resolve(out);
      } else send();
    });
    socket.on('error', reject);
  });
}

describe('the contract', () => {
  it('a response is a Buffer, a Uint8Array or a string; anything else is an error naming the module', () => {
    expect(responseBytes('héllo', 'm').toString('utf8')).toBe('héllo');
    expect([...responseBytes(new Uint8Array([1, 2]), 'm')]).toEqual([1, 2]);
    expect(() => responseBytes(42, 'm.mjs')).toThrow(/m\.mjs answered with number; a handler returns a Buffer/);
  });

  it('an `async` default export is seen as one that waits (piscina then runs many at once a thread)', async () => {
    const example = (name: string): string => path.join(PROJECT_ROOT, 'examples/handlers', name);
    expect(await declaredAsync(example('io-wait.mjs'))).toBe(true);
    expect(await declaredAsync(example('hash-sync.mjs'))).toBe(false);
    expect(await declaredAsync(example('deflate-async.mjs'))).toBe(false); // a plain function returning a promise
  });

  it('setup() is awaited before the first request; a module without a default function is refused', async () => {
    const h = await loadHandler(fixture('reverse.mjs'));
    expect((await h.respond(Buffer.from('abc'))).toString()).toBe('cba');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'handler-'));
    writeFileSync(path.join(dir, 'nodefault.mjs'), 'export const x = 1;\n');
    await expect(loadHandler(path.join(dir, 'nodefault.mjs'))).rejects.toThrow(/has no default export function/);
  });

  it('--requests: JSON strings are text, {"base64"} is bytes; a bad line is named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'requests-'));
    const file = path.join(dir, 'r.jsonl');
    writeFileSync(file, '"hello"\n{"base64": "AAEC"}\n\n');
    expect(readRequests(file).map((b) => [...b])).toEqual([[...Buffer.from('hello')], [0, 1, 2]]);
    writeFileSync(file, '"ok"\n{"text": 1}\n');
    expect(() => readRequests(file)).toThrow(/line 2 must be a JSON string \(text\) or \{"base64": "…"\}/);
  });
});

describe('the check before anything runs', () => {
  const w = (name: string, module: string): Workload => ({
    ...DEFAULT_PARAMS,
    name,
    family: name,
    description: '',
    predicts: '',
    work: `handler:${module}`,
  });

  it('answers every request once (twice, to see they agree), for each distinct request set', async () => {
    const answers = await checkHandler([w('a', fixture('reverse.mjs'))], {});
    const set = [...answers.values()][0]!;
    expect(set.pairs.length).toBeGreaterThanOrEqual(16);
    for (const p of set.pairs) expect(p.response.equals(Buffer.from(p.request).reverse())).toBe(true);
  });

  it('a handler that throws: the module, the request and the message', async () => {
    await expect(checkHandler([w('a', fixture('throws.mjs'))], { seed: 3 })).rejects.toThrow(
      /the handler throws\.mjs threw on request \d+ of 16 \(16 bytes|64 bytes\): odd first byte: not supported|threw on request/,
    );
  });

  it('a handler that never answers: named, within its timeout', async () => {
    const started = performance.now();
    await expect(checkHandler([w('a', fixture('never.mjs'))], { answerTimeoutMs: 300 })).rejects.toThrow(
      /did not answer request 1 of 16 \(64 bytes\) within 0\.3 s/,
    );
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('says what the handler costs a request in CPU: a reversal costs little, 101 rounds of SHA-256 much more', async () => {
    const light = [...(await checkHandler([w('a', fixture('reverse.mjs'))], {})).values()][0]!;
    const heavy = [
      ...(await checkHandler([w('b', path.join(PROJECT_ROOT, 'examples/handlers/hash-sync.mjs'))], {})).values(),
    ][0]!;
    // CPU time, not wall time: a loaded machine slows both, it does not shrink either.
    expect(light.cpuMicrosPerRequest).toBeLessThan(20);
    expect(heavy.cpuMicrosPerRequest).toBeGreaterThan(30);
    expect(heavy.cpuMicrosPerRequest).toBeGreaterThan(3 * light.cpuMicrosPerRequest);
  });

  it("a handler whose answers are not a function of the request fails a byte-for-byte check, passes with verify 'length'", async () => {
    await expect(checkHandler([w('a', fixture('random.mjs'))], {})).rejects.toThrow(
      /answered request 1 .* two ways: .* unless it exports verify = 'length' or 'none'/,
    );
    const set = [...(await checkHandler([w('a', fixture('random-length.mjs'))], {})).values()][0]!;
    expect(set.verify).toBe('length');
  });
});

describe('in every Node model, where its design runs handler work', () => {
  const requests = Array.from({ length: 7 }, (_, i) => Buffer.from(`request ${i} ${'x'.repeat(i * 13)}`));
  for (const model of MODELS.filter((m) => m.runtime === 'node')) {
    it(`${model.name}: answers each connection's requests in order, setup() awaited where it runs`, async () => {
      running = await startServer({
        model: model.name,
        work: `handler:${fixture('reverse.mjs')}`,
        workers: 2,
        maxChildren: 4,
      });
      const port = running.ready.port;
      const results = await Promise.all(Array.from({ length: 6 }, () => exchange(port, requests, 2)));
      for (const got of results)
        expect(got.map((b) => b.toString())).toEqual(requests.map((r) => Buffer.from(r).reverse().toString()));
      expect((await running.stop()).code).toBe(0);
      running = undefined;
    });
  }
});

function bench(args: string[]): Promise<{ code: number | null; stderr: string; out: string }> {
  const out = mkdtempSync(path.join(os.tmpdir(), 'handler-bench-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH, '--out', out, ...args]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr, out }));
  });
}

describe('the bench with --handler', () => {
  const quick = [
    '--model',
    'event-loop,cluster-rr,piscina',
    '--runs',
    '2',
    '--max-runs',
    '2',
    '--warmup',
    '0.1',
    '--duration',
    '0.4',
    '--keep-every-run',
  ];

  it('every model measured with the answers checked byte for byte; native-epoll is left out, saying why', async () => {
    const r = await bench([
      ...quick,
      '--model',
      'event-loop,piscina,native-epoll',
      '--handler',
      fixture('reverse.mjs'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/answers checked byte for byte/);
    expect(r.stderr).toMatch(/native-epoll is the native ceiling: an echo in C, it runs no handler/);
    const records = readRecords(r.out, () => {});
    for (const m of ['event-loop', 'piscina']) {
      const ok = records.filter((x) => x.model === m && x.status === 'ok');
      expect(ok.length, m).toBe(2);
      for (const x of ok)
        if (x.status === 'ok') expect([x.result.errors.mismatches, x.answers?.verify]).toEqual([0, 'bytes']);
    }
  });

  it('a handler heavier than the driver runs with the server on every CPU, as CPU-bound work does, unless --pin says', async () => {
    const hash = path.join(PROJECT_ROOT, 'examples/handlers/hash-sync.mjs');
    const shared = await bench([...quick, '--model', 'event-loop', '--handler', hash]);
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toMatch(/CPU split \(shared; echo\)/);
    expect(shared.stderr).toMatch(
      /your handler took [\d.]+ CPU µs a request here, more than the driver takes a message/,
    );
    const records = readRecords(shared.out, () => {});
    expect(records.every((x) => x.params.pin === 'shared')).toBe(true);
    const given = await bench([...quick, '--model', 'event-loop', '--handler', hash, '--pin', 'separate']);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stderr).toMatch(/CPU split \(separate; echo\)/);
    const light = await bench([...quick, '--model', 'event-loop', '--handler', fixture('reverse.mjs')]);
    expect(light.stderr).toMatch(/CPU split \(separate; echo\)/);
  });

  it('a handler that throws: exit 2 before anything runs, naming it and the request', async () => {
    const r = await bench([...quick, '--handler', fixture('throws.mjs')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /error: the handler throws\.mjs threw on request \d+ of 16 .*odd first byte: not supported/,
    );
  });

  it('a stale answer in the servers (one call in 100): mismatches, exit 1 naming the model', async () => {
    const r = await bench([...quick, '--model', 'event-loop', '--handler', fixture('stale.mjs')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ event-loop answered wrong bytes on echo: \d+ mismatched message/);
  });
});
