/**
 * Request/response mode (--requests): both TCP drivers send the requests of a requests file, request (c + j) mod K as
 * frame j of connection c, and verify each response (in request order) against the file's, so a server whose handler
 * does not echo can be loaded and checked. A wrong, reordered or wrong-length answer is a mismatch; the echo mode is
 * what it was.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTcpLoad, type TcpLoadOptions } from '../clients/tcp.js';
import { nativeDriverStatus, nativeLoadArgs, parseNativeLine, runNativeTcpLoad } from '../clients/native-tcp.js';
import type { LoadResult } from '../clients/load-result.js';
import {
  decodeRequests,
  encodeRequests,
  readRequestsFile,
  writeRequestsFile,
  type RequestPair,
  type VerifyMode,
} from '../clients/requests-file.js';
import { openEndpoint } from '../servers/endpoint.js';
import { localHandler } from '../servers/handler.js';
import { nativeBinary, TCP_LOAD } from '../lib/native.js';
import { compiled } from '../lib/paths.js';

const native = nativeDriverStatus();
const DRIVERS: { name: string; run(o: TcpLoadOptions): Promise<LoadResult> }[] = [
  { name: 'node', run: runTcpLoad },
  ...(native.ok ? [{ name: 'native', run: runNativeTcpLoad }] : []),
];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'conbench-requests-test-'));

/** The handler under test: the request reversed, then "RESP" (never an echo, and 4 bytes longer than the request). */
const respond = (request: Buffer): Buffer => Buffer.concat([Buffer.from(request).reverse(), Buffer.from('RESP')]);
/** The same length, a different last byte. */
const corrupt = (response: Buffer): Buffer => {
  const wrong = Buffer.from(response);
  wrong.writeUInt8(wrong.readUInt8(wrong.length - 1) ^ 0xff, wrong.length - 1);
  return wrong;
};

/** K = 5 requests of distinct lengths (so the server can tell which one came), one of them empty, one 70 kB. */
const LENGTHS = [16, 0, 40, 70_000, 1];
const REQUESTS = LENGTHS.map((n, i) => Buffer.alloc(n, 0x41 + i).fill(0x61 + i, 0, Math.min(n, 3)));
const PAIRS: RequestPair[] = REQUESTS.map((request) => ({ request, response: respond(request) }));
const indexOfLength = new Map(LENGTHS.map((n, i) => [n, i]));

interface Seen {
  /** Request frames received, all connections. */
  frames: number;
  /** Requests on a connection that did not follow the one before it in the file's cyclic order. */
  outOfOrder: number;
  /** Which of the K requests came at all. */
  indexes: Set<number>;
}

type Reply = Buffer | { raw: Buffer };

/**
 * A framed request/response server on port 0: `reply` answers the index-th request of a connection (a payload, framed
 * here, or raw bytes); `swap(index)` holds that answer back and sends it after the next one's. Closed after the test.
 */
async function requestServer(
  reply: (request: Buffer, index: number) => Reply = (r) => respond(r),
  swap: (index: number) => boolean = () => false,
): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { frames: 0, outOfOrder: 0, indexes: new Set() };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let index = 0;
    let previous: number | undefined;
    let held: Buffer | undefined;
    s.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (pending.length < 4 + length) break;
        const request = Buffer.from(pending.subarray(4, 4 + length));
        pending = pending.subarray(4 + length);
        seen.frames++;
        const k = indexOfLength.get(length) ?? -1;
        seen.indexes.add(k);
        if (previous !== undefined && k !== (previous + 1) % PAIRS.length) seen.outOfOrder++;
        previous = k;
        const r = reply(request, index);
        const out = Buffer.isBuffer(r) ? frame(r) : r.raw;
        if (swap(index)) {
          held = out;
        } else {
          s.write(out);
          if (held) s.write(held);
          held = undefined;
        }
        index++;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, seen };
}

function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

const base = (port: number, o: Partial<TcpLoadOptions> = {}, verify: VerifyMode = 'bytes'): TcpLoadOptions => ({
  host: '127.0.0.1',
  port,
  connections: 4,
  inFlight: 2,
  payloadBytes: 64,
  warmupSec: 0.1,
  durationSec: 0.4,
  pattern: 'persistent',
  timeoutMs: 2000,
  requests: { pairs: PAIRS, verify },
  ...o,
});

const errorsOf = (r: LoadResult): number => r.errors.errors + r.errors.resets + r.errors.timeouts;

describe('requests file', () => {
  it('round-trips, the request and response payloads byte for byte', () => {
    const file = path.join(tmp(), 'r.bin');
    writeRequestsFile(file, PAIRS);
    const back = readRequestsFile(file);
    expect(back).toHaveLength(PAIRS.length);
    back.forEach((p, i) => {
      expect(p.request.equals(PAIRS[i]!.request)).toBe(true);
      expect(p.response.equals(PAIRS[i]!.response)).toBe(true);
    });
    // The layout: magic, K, then per pair u32 length + bytes, big-endian.
    const bytes = encodeRequests([{ request: Buffer.from('ab'), response: Buffer.from('xyz') }]);
    expect(bytes.toString('hex')).toBe(
      Buffer.concat([
        Buffer.from('CBREQ01\n'),
        Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]),
        Buffer.from('ab'),
        Buffer.from([0, 0, 0, 3]),
        Buffer.from('xyz'),
      ]).toString('hex'),
    );
  });

  it('a bad file is a clear error naming it', () => {
    const good = encodeRequests(PAIRS.slice(0, 2));
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('CBREQ02\n\x00\x00\x00\x01', 'latin1'), /x\.bin: not a requests file/],
      [good.subarray(0, 10), /x\.bin: truncated: no request count/],
      [Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0, 0, 0])]), /x\.bin: 0 requests \(must be 1 to 1000000\)/],
      [good.subarray(0, good.length - 1), /x\.bin: truncated in response 1 of 2/],
      [good.subarray(0, 14), /x\.bin: truncated in request 0 of 2 \(its length\)/],
      [Buffer.concat([good, Buffer.from('!')]), /x\.bin: 1 bytes after its 2 requests/],
    ];
    for (const [data, message] of cases) expect(() => decodeRequests(data, 'x.bin')).toThrow(message);
    expect(() => readRequestsFile(path.join(tmp(), 'missing.bin'))).toThrow(/missing\.bin cannot be read: ENOENT/);
    expect(() => encodeRequests([])).toThrow(/1 to 1000000 requests/);
  });

  it.skipIf(!native.ok)('the C driver refuses the same bad files as bad usage (exit 2), naming the file', () => {
    const dir = tmp();
    const good = encodeRequests(PAIRS.slice(0, 2));
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('nope'), /not a requests file/],
      [good.subarray(0, good.length - 1), /truncated in response 1 of 2/],
      [Buffer.concat([good, Buffer.from('!')]), /1 bytes after its 2 requests/],
    ];
    const driver = (args: string[]) =>
      spawnSync(nativeBinary(TCP_LOAD), ['--target', '127.0.0.1:9', '--duration', '0.1', ...args], {
        encoding: 'utf8',
      });
    for (const [data, message] of cases) {
      const file = path.join(dir, 'bad.bin');
      writeFileSync(file, data);
      const r = driver(['--requests', file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain(file);
    }
    expect(driver(['--verify', 'bytes']).stderr).toMatch(/--verify applies to --requests only/);
    expect(driver(['--requests', path.join(dir, 'bad.bin'), '--verify', 'some']).stderr).toMatch(
      /--verify must be one of bytes, length, none/,
    );
    const help = spawnSync(nativeBinary(TCP_LOAD), ['--help'], { encoding: 'utf8' }).stdout;
    expect(help).toMatch(/--requests FILE/);
    expect(help).toMatch(/--verify V/);
  });

  it('the native command line carries the file and the verify mode', () => {
    const o = base(9);
    expect(nativeLoadArgs({ ...o, requestsFile: '/r.bin', verify: 'length' }).slice(-4)).toEqual([
      '--requests',
      '/r.bin',
      '--verify',
      'length',
    ]);
  });
});

describe.each(DRIVERS)('request/response mode, $name driver', ({ run }) => {
  it('a correct server: every response verified, requests in the file order (c + j) mod K, bytes both ways', async () => {
    const { port, seen } = await requestServer();
    const r = await run(base(port, { readyConnections: 4 }));
    expect(r.messages).toBeGreaterThan(0);
    expect(r.errors.mismatches).toBe(0);
    expect(errorsOf(r)).toBe(0);
    expect(r.readiness?.timedOut).toBe(false);
    expect(seen.outOfOrder).toBe(0);
    expect(seen.indexes).toEqual(new Set([0, 1, 2, 3, 4]));
    // Each message counts its request and its response, headers included: between the smallest and largest pair.
    const sizes = PAIRS.map((p) => 8 + p.request.length + p.response.length);
    expect(r.bytes / r.messages).toBeGreaterThanOrEqual(Math.min(...sizes));
    expect(r.bytes / r.messages).toBeLessThanOrEqual(Math.max(...sizes));
  });

  it('one answer in 50 wrong: mismatches, and the other answers still verify', async () => {
    const { port } = await requestServer((q, i) => (i % 50 === 25 ? corrupt(respond(q)) : respond(q)));
    const r = await run(base(port));
    expect(r.errors.mismatches).toBeGreaterThan(0);
    expect(r.messages).toBeGreaterThan(r.errors.mismatches);
    expect(errorsOf(r)).toBe(0);
  });

  it('two answers swapped (in flight 2, K = 5): mismatches', async () => {
    const { port } = await requestServer(undefined, (i) => i % 50 === 25);
    const r = await run(base(port, { inFlight: 2 }));
    expect(r.errors.mismatches).toBeGreaterThan(0);
    expect(r.messages).toBeGreaterThan(0);
    expect(errorsOf(r)).toBe(0);
  });

  it('verify length accepts a same-length wrong answer, not a different length; none accepts any frame', async () => {
    const sameLength = await requestServer((q) => corrupt(respond(q)));
    const accepted = await run(base(sameLength.port, {}, 'length'));
    expect(accepted.messages).toBeGreaterThan(0);
    expect(accepted.errors.mismatches).toBe(0);
    const checked = await run(base(sameLength.port, {}, 'bytes'));
    expect(checked.errors.mismatches).toBeGreaterThan(0);

    const longer = await requestServer((q, i) =>
      i % 50 === 25 ? Buffer.concat([respond(q), Buffer.from('+')]) : respond(q),
    );
    const refused = await run(base(longer.port, {}, 'length'));
    expect(refused.errors.mismatches).toBeGreaterThan(0);
    expect(refused.messages).toBeGreaterThan(refused.errors.mismatches);
    const anything = await run(base(longer.port, {}, 'none'));
    expect(anything.errors.mismatches).toBe(0);
    expect(anything.messages).toBeGreaterThan(0);
  });

  it('an echo is not an answer: against an echo server every response mismatches', async () => {
    const endpoint = await openEndpoint('tcp', { host: '127.0.0.1', port: 0 }, await localHandler({ kind: 'none' }));
    closers.push(async () => void (await endpoint.close()));
    const r = await run(base(endpoint.port, { durationSec: 0.3 }));
    expect(r.messages).toBe(0);
    expect(r.errors.mismatches).toBeGreaterThan(0);
  });

  it('the echo mode (no requests) still verifies an echo server', async () => {
    const endpoint = await openEndpoint('tcp', { host: '127.0.0.1', port: 0 }, await localHandler({ kind: 'none' }));
    closers.push(async () => void (await endpoint.close()));
    const echo = base(endpoint.port, { durationSec: 0.3 });
    delete echo.requests;
    const r = await run(echo);
    expect(r.messages).toBeGreaterThan(0);
    expect(r.errors.mismatches).toBe(0);
    expect(errorsOf(r)).toBe(0);
    expect(r.bytes).toBe(r.messages * 68); // one 64-byte frame each, as before
  });

  it('connect-per-request takes the requests in turn from one counter', async () => {
    const { port, seen } = await requestServer();
    const r = await run(base(port, { pattern: 'connect-per-request', connections: 2, durationSec: 0.3 }));
    expect(r.messages).toBeGreaterThan(10);
    expect(r.errors.mismatches).toBe(0);
    expect(errorsOf(r)).toBe(0);
    expect(seen.indexes).toEqual(new Set([0, 1, 2, 3, 4])); // not c mod K (0 and 1 only)
  });

  it('open loop holds its rate with responses verified', async () => {
    const { port } = await requestServer();
    const r = await run(base(port, { rate: 400, durationSec: 0.5 }));
    expect(r.errors.mismatches).toBe(0);
    expect(errorsOf(r)).toBe(0);
    expect(r.msgsPerSec).toBeGreaterThan(400 * 0.9);
    expect(r.msgsPerSec).toBeLessThan(400 * 1.1);
  });

  it('a response announcing more than 64 MiB fails the connection as an error, not a mismatch', async () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(64 * 1024 * 1024 + 1, 0);
    const { port } = await requestServer(() => ({ raw: huge }));
    const r = await run(base(port, { connections: 1, inFlight: 1, durationSec: 0.3 }));
    expect(r.messages).toBe(0);
    expect(r.errors.mismatches).toBe(0);
    expect(r.errors.errors).toBeGreaterThan(0);
    expect(r.firstError).toMatch(/67108865 bytes \(over 64 MiB\)/);
  });
});

describe.skipIf(!native.ok)('request/response mode, native driver only', () => {
  it('counted windows (--window-frames) send exactly K requests per connection, all verified', async () => {
    const { port, seen } = await requestServer();
    const file = path.join(tmp(), 'r.bin');
    writeRequestsFile(file, PAIRS);
    const args = nativeLoadArgs({
      ...base(port, { connections: 3, warmupSec: 0.1 }),
      windowFrames: 7,
      threads: 2,
      requestsFile: file,
    });
    const child = spawn(nativeBinary(TCP_LOAD), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('CONBENCH_QUIET') && !child.stdin.writableEnded) child.stdin.end('go\ngo 4\nstop\n');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const windows = out
      .split('\n')
      .map(parseNativeLine)
      .flatMap((l) => (l.kind === 'counted' ? [l.window] : []));
    expect(windows.map((w) => w.messages)).toEqual([21, 12]);
    expect(windows.every((w) => w.quiet && w.errors.mismatches === 0)).toBe(true);
    expect(seen.outOfOrder).toBe(0);
  });

  it('npm run load --requests FILE --verify length, with either driver; --verify alone and a bad file are bad usage', async () => {
    const { port } = await requestServer((q) => corrupt(respond(q)));
    const file = path.join(tmp(), 'r.bin');
    writeRequestsFile(file, PAIRS);
    for (const driver of ['native', 'node']) {
      const child = spawn(process.execPath, [
        compiled('clients/tcp-cli.ts'),
        ...['--target', `127.0.0.1:${port}`, '--driver', driver, '--connections', '2', '--json'],
        ...['--duration', '0.3', '--warmup', '0.1', '--requests', file, '--verify', 'length'],
      ]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, `${driver}: ${out}`).toBe(0);
      const result = JSON.parse(
        out
          .split('\n')
          .find((l) => l.startsWith('CONBENCH_RESULT '))!
          .slice(16),
      ) as LoadResult;
      expect(result.driver).toBe(driver);
      expect(result.messages).toBeGreaterThan(0);
      expect(result.errors.mismatches).toBe(0);
    }
    // --verify alone, and a file that is not one, are bad usage.
    const bad = path.join(tmp(), 'bad.bin');
    writeFileSync(bad, 'nope');
    for (const [args, message] of [
      [['--verify', 'none'], /--verify applies to --requests only/],
      [['--requests', bad], /--requests: requests file .*bad\.bin: not a requests file/],
    ] as const) {
      const r = spawnSync(
        process.execPath,
        [compiled('clients/tcp-cli.ts'), '--target', `127.0.0.1:${port}`, '--duration', '0.1', ...args],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('--windows N in request mode: each window counted, all verified', async () => {
    const { port } = await requestServer();
    const file = path.join(tmp(), 'r.bin');
    writeRequestsFile(file, PAIRS);
    const args = [...nativeLoadArgs({ ...base(port, { durationSec: 0.2 }), requestsFile: file }), '--windows', '2'];
    const child = spawn(nativeBinary(TCP_LOAD), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out.match(/CONBENCH_WINDOW /g)).toHaveLength(2);
    const result = out
      .split('\n')
      .map(parseNativeLine)
      .find((l) => l.kind === 'result');
    expect(result?.kind === 'result' && result.raw.messages > 0 && result.raw.errors.mismatches === 0).toBe(true);
  });
});
