/**
 * The verifying TCP load client for the framed echo protocol.
 *
 * N connections each keep D frames in flight (closed loop) or send at a fixed total rate (open loop, latency from
 * the intended send time as wrk2 does); or, for connect-per-request, each of N slots connects, echoes one frame and
 * closes, again and again. Every echoed byte is compared with what was sent: payloads are a per-connection random
 * template stamped with the frame's sequence number and connection id, so a lost, reordered, misrouted or corrupted
 * frame is a mismatch. Latency goes into an HdrHistogram in µs; a warmup is run and discarded first.
 *
 * Request/response mode (`requests`, for a handler that does not echo): frame j of connection c (j counted from 0 on
 * each new connection, warmup included) is request (c + j) mod K, connect-per-request takes the requests in turn from
 * one counter, and each response (a frame, in request order) must match that request's expected response as
 * `requests.verify` says; anything else is a mismatch. Same semantics as the C driver's --requests (tcp-load.c).
 */
import type { LoadParams } from './load-params.js';
import { MAX_REQUESTS, VERIFY_MODES, type RequestSet, type VerifyMode } from './requests-file.js';
import net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { fillPayload } from '../lib/seeded-bytes.js';
import { performance } from 'node:perf_hooks';
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from '../servers/protocol.js';
import { summarize, encodeHistogram } from './histogram.js';
import { WindowCounters } from './counters.js';
import type { LoadResult } from './load-result.js';
import { NumberRing } from './ring.js';
import { measureWindow } from './window.js';

export { PATTERNS, type ConnectionPattern } from './load-params.js';

/** The Node TCP client takes the common load parameters, and the requests of request/response mode. */
export interface TcpLoadOptions extends LoadParams {
  /** Request/response mode instead of echoes (clients/requests-file.ts); --size (payloadBytes) is then unused. */
  requests?: RequestSet;
}

/** Bytes of the payload that carry the sequence number (u32 LE) and connection id (u32 LE). */
const TAG_BYTES = 8;
/** Above this a frame is sent as a fresh prefix plus the shared immutable template, not copied whole. */
const COPY_LIMIT = 64 * 1024;
/** Open loop: at most this many frames outstanding per connection; later sends are counted as backlogged. */
const OPEN_LOOP_MAX_OUTSTANDING = 100_000;

class Stats extends WindowCounters {
  /** Open loop: sends skipped because too many frames were already outstanding. */
  backlogged = 0;

  override reset(): void {
    super.reset();
    this.backlogged = 0;
  }
}

/** Request/response mode, shared by one run's connections. */
class Requests {
  /** Each request as the frame sent (length + payload), built once. */
  readonly frames: Buffer[];
  readonly expected: Buffer[];
  readonly count: number;
  readonly verify: VerifyMode;
  /** Connect-per-request: the request the next connection sends. */
  next = 0;

  constructor(set: RequestSet) {
    this.frames = set.pairs.map(({ request }) => {
      const frame = Buffer.allocUnsafe(HEADER_BYTES + request.length);
      frame.writeUInt32BE(request.length, 0);
      request.copy(frame, HEADER_BYTES);
      return frame;
    });
    this.expected = set.pairs.map((p) => p.response);
    this.count = set.pairs.length;
    this.verify = set.verify;
  }
}

function classify(stats: Stats, error: NodeJS.ErrnoException, connecting: boolean): void {
  if (!stats.recording) return;
  stats.noteError(error);
  if (connecting) stats.errors.connectFailures++;
  else if (error.code === 'ECONNRESET' || error.code === 'EPIPE') stats.errors.resets++;
  else stats.errors.errors++;
}

/** One TCP connection's worth of sending, verifying and timing. */
class EchoConnection {
  private socket: net.Socket | undefined;
  private connecting = false;
  private connectStartedAt = 0;
  private readonly frameBytes: number;
  private readonly tagBytes: number;
  /** Header + random payload; bytes 4..4+tagBytes are overwritten per frame. Never mutated after construction. */
  private readonly template: Buffer;
  private readonly expectedPrefix: Buffer;
  private sendSeq = 0;
  private recvSeq = 0;
  private recvOffset = 0;
  private frameMismatched = false;
  private readonly sentAt = new NumberRing();
  private readonly intendedAt = new NumberRing();
  private timedOutThrough = 0;
  /** Open loop: frames sent (or skipped) so far, to know how many are due. */
  private scheduled = 0;
  private closedOnPurpose = false;
  /** Completed at least one verified echo while recording. */
  served = false;
  /** Completed at least one verified echo, warmup included (readiness). */
  everServed = false;
  /** Request/response mode: frame j of this connection is request (requestBase + j) mod K. */
  private requestBase: number;
  /** Request/response mode: the length of the response being read, once its 4 bytes are in. */
  private readonly responseHeader = Buffer.alloc(HEADER_BYTES);
  private responseLength = 0;

  constructor(
    private readonly id: number,
    private readonly o: TcpLoadOptions,
    private readonly stats: Stats,
    private readonly isRunning: () => boolean,
    /** Closed loop before readiness: answered frames are not replaced (the native driver's ramp, tcp-load.c). */
    private readonly isHeld: () => boolean = () => false,
    /** Request/response mode: what to send and expect (undefined: echoes). */
    private readonly requests?: Requests,
  ) {
    const payloadBytes = requests ? 0 : o.payloadBytes; // no echo template in request/response mode
    this.frameBytes = HEADER_BYTES + payloadBytes;
    this.tagBytes = Math.min(TAG_BYTES, payloadBytes);
    this.template = Buffer.alloc(this.frameBytes);
    this.template.writeUInt32BE(payloadBytes, 0);
    fillPayload(this.template, HEADER_BYTES, o.seed, randomFillSync);
    this.requestBase = id;
    this.expectedPrefix = Buffer.from(this.template.subarray(0, HEADER_BYTES + this.tagBytes));
  }

  start(): void {
    this.connect();
  }

  /** After the ramp: back to inFlight frames in flight, if connected. */
  refill(): void {
    if (!this.socket || this.connecting || this.o.pattern !== 'persistent' || this.o.rate !== undefined) return;
    this.socket.cork();
    while (this.sentAt.length < this.o.inFlight) this.sendFrame(performance.now(), NaN);
    this.socket.uncork();
  }

  stop(): void {
    this.closedOnPurpose = true;
    this.socket?.destroy();
  }

  /** Open loop: sends every frame whose intended time has come. */
  sendDue(now: number, startedAt: number, perConnectionRate: number): void {
    if (!this.socket || this.connecting) return;
    // Frame k is due at startedAt + k / rate, so by now frames 0 … floor(elapsed · rate) are.
    const due = Math.floor(((now - startedAt) / 1000) * perConnectionRate) + 1;
    if (due <= this.scheduled) return;
    this.socket.cork();
    while (this.scheduled < due) {
      const intended = startedAt + (this.scheduled * 1000) / perConnectionRate;
      this.scheduled++;
      if (this.sentAt.length >= OPEN_LOOP_MAX_OUTSTANDING) {
        if (this.stats.recording) this.stats.backlogged++;
        continue;
      }
      this.sendFrame(now, intended);
    }
    this.socket.uncork();
  }

  /** Counts frames outstanding longer than the timeout, each once. */
  checkTimeouts(now: number): void {
    if (this.connecting && now - this.connectStartedAt > this.o.timeoutMs) {
      classify(this.stats, Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }), true);
      this.restart();
      return;
    }
    const outstanding = this.sentAt.length;
    for (let i = Math.max(0, this.timedOutThrough - this.recvSeq); i < outstanding; i++) {
      if (now - this.sentAt.at(i) <= this.o.timeoutMs) break;
      this.timedOutThrough = this.recvSeq + i + 1;
      if (this.stats.recording) this.stats.errors.timeouts++;
    }
  }

  private connect(): void {
    this.connecting = true;
    this.connectStartedAt = performance.now();
    this.sendSeq = 0;
    this.recvSeq = 0;
    this.recvOffset = 0;
    this.timedOutThrough = 0;
    this.sentAt.clear();
    this.intendedAt.clear();
    const socket = net.connect({ host: this.o.host, port: this.o.port, noDelay: true });
    this.socket = socket;
    socket.on('connect', () => {
      this.connecting = false;
      if (this.o.pattern === 'connect-per-request') {
        if (this.requests) this.requestBase = this.requests.next++;
        // Latency of a connect-per-request exchange includes the connect.
        this.sendFrame(this.connectStartedAt, this.connectStartedAt);
      } else if (this.o.rate === undefined) {
        socket.cork();
        for (let i = 0; i < this.o.inFlight; i++) this.sendFrame(performance.now(), NaN);
        socket.uncork();
      }
    });
    // The receive path is chosen once per socket: the echo path carries nothing of request/response mode.
    if (this.requests) socket.on('data', (chunk: Buffer) => this.receiveResponses(chunk));
    else socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.closedOnPurpose) classify(this.stats, error, this.connecting);
    });
    socket.on('close', () => {
      if (this.socket !== socket || this.closedOnPurpose || !this.isRunning()) return;
      if (this.o.pattern === 'connect-per-request') {
        if (this.sentAt.length > 0 && this.stats.recording) this.stats.errors.errors++; // closed before the echo
        this.connect();
      } else {
        // The server dropped a persistent connection: count it (via 'error' or here) and reconnect shortly.
        if (this.stats.recording && !socket.errored) this.stats.errors.errors++;
        setTimeout(() => this.isRunning() && !this.closedOnPurpose && this.connect(), 50);
      }
    });
  }

  private restart(): void {
    const old = this.socket;
    this.socket = undefined;
    old?.destroy();
    if (this.isRunning() && !this.closedOnPurpose) this.connect();
  }

  private sendFrame(now: number, intended: number): void {
    if (this.requests) {
      this.sendRequest(now, intended);
      return;
    }
    const socket = this.socket!;
    const seq = this.sendSeq++;
    if (this.frameBytes <= COPY_LIMIT) {
      const frame = Buffer.allocUnsafe(this.frameBytes);
      this.template.copy(frame);
      this.stamp(frame, seq);
      socket.write(frame);
    } else {
      const prefix = Buffer.from(this.expectedPrefix);
      this.stamp(prefix, seq);
      socket.write(prefix);
      socket.write(this.template.subarray(prefix.length));
    }
    this.sentAt.push(now);
    this.intendedAt.push(intended);
  }

  /** Request/response mode: sends this connection's next request (a prebuilt frame, shared and never mutated). */
  private sendRequest(now: number, intended: number): void {
    const requests = this.requests!;
    this.socket!.write(requests.frames[(this.requestBase + this.sendSeq++) % requests.count]!);
    this.sentAt.push(now);
    this.intendedAt.push(intended);
  }

  /** Writes seq and connection id into a frame's first payload bytes (as many as the payload has). */
  private stamp(frame: Buffer, seq: number): void {
    if (this.tagBytes === TAG_BYTES) {
      frame.writeUInt32LE(seq >>> 0, HEADER_BYTES);
      frame.writeUInt32LE(this.id >>> 0, HEADER_BYTES + 4);
      return;
    }
    const tag = Buffer.allocUnsafe(TAG_BYTES);
    tag.writeUInt32LE(seq >>> 0, 0);
    tag.writeUInt32LE(this.id >>> 0, 4);
    tag.copy(frame, HEADER_BYTES, 0, this.tagBytes);
  }

  private receive(chunk: Buffer): void {
    let pos = 0;
    const socket = this.socket!;
    const closedLoop = this.o.rate === undefined && this.o.pattern === 'persistent';
    if (closedLoop) socket.cork();
    while (pos < chunk.length) {
      if (this.recvOffset === 0) {
        if (this.sentAt.length === 0) {
          // Bytes nobody asked for.
          if (this.stats.recording) this.stats.errors.mismatches++;
          socket.destroy();
          return;
        }
        this.stamp(this.expectedPrefix, this.recvSeq);
        this.frameMismatched = false;
      }
      const take = Math.min(this.frameBytes - this.recvOffset, chunk.length - pos);
      if (!this.frameMismatched && !this.matches(chunk, pos, take)) this.frameMismatched = true;
      pos += take;
      this.recvOffset += take;
      if (this.recvOffset === this.frameBytes) {
        this.recvOffset = 0;
        this.completeFrame(closedLoop, this.frameBytes);
        if (this.o.pattern === 'connect-per-request') {
          socket.end();
          return;
        }
      }
    }
    if (closedLoop) socket.uncork();
  }

  /**
   * Request/response mode: reads response frames as they stream and checks each against the expected response of the
   * oldest request awaiting one. A response announcing more than 64 MiB is a protocol error: the connection fails.
   */
  private receiveResponses(chunk: Buffer): void {
    const requests = this.requests!;
    let pos = 0;
    const socket = this.socket!;
    const closedLoop = this.o.rate === undefined && this.o.pattern === 'persistent';
    if (closedLoop) socket.cork();
    while (pos < chunk.length) {
      if (this.recvOffset === 0) {
        if (this.sentAt.length === 0) {
          // A response nobody asked for.
          if (this.stats.recording) this.stats.errors.mismatches++;
          socket.destroy();
          return;
        }
        this.frameMismatched = false;
      }
      const index = (this.requestBase + this.recvSeq) % requests.count;
      const expected = requests.expected[index]!;
      if (this.recvOffset < HEADER_BYTES) {
        const k = Math.min(HEADER_BYTES - this.recvOffset, chunk.length - pos);
        chunk.copy(this.responseHeader, this.recvOffset, pos, pos + k);
        pos += k;
        this.recvOffset += k;
        if (this.recvOffset < HEADER_BYTES) break;
        this.responseLength = this.responseHeader.readUInt32BE(0);
        if (this.responseLength > MAX_PAYLOAD_BYTES) {
          const error = new Error(
            `read: a response of ${this.responseLength} bytes (over 64 MiB) from ${this.o.host}:${this.o.port}`,
          );
          socket.destroy(Object.assign(error, { code: 'EPROTO' }));
          return;
        }
        if (requests.verify !== 'none' && this.responseLength !== expected.length) this.frameMismatched = true;
      }
      const frameBytes = HEADER_BYTES + this.responseLength;
      const take = Math.min(frameBytes - this.recvOffset, chunk.length - pos);
      if (take > 0 && !this.frameMismatched && requests.verify === 'bytes') {
        const from = this.recvOffset - HEADER_BYTES;
        if (chunk.compare(expected, from, from + take, pos, pos + take) !== 0) this.frameMismatched = true;
      }
      pos += take;
      this.recvOffset += take;
      if (this.recvOffset === frameBytes) {
        this.recvOffset = 0;
        this.completeFrame(closedLoop, requests.frames[index]!.length + frameBytes);
        if (this.o.pattern === 'connect-per-request') {
          socket.end();
          return;
        }
      }
    }
    if (closedLoop) socket.uncork();
  }

  private matches(chunk: Buffer, pos: number, take: number): boolean {
    const prefixBytes = this.expectedPrefix.length;
    let offset = this.recvOffset;
    const end = offset + take;
    if (offset < prefixBytes) {
      const upto = Math.min(end, prefixBytes);
      if (chunk.compare(this.expectedPrefix, offset, upto, pos, pos + (upto - offset)) !== 0) return false;
      pos += upto - offset;
      offset = upto;
    }
    return offset >= end || chunk.compare(this.template, offset, end, pos, pos + (end - offset)) === 0;
  }

  /** A whole echo (or response) is in: `bytes` counts what went both ways for it if it verified. */
  private completeFrame(closedLoop: boolean, bytes: number): void {
    const now = performance.now();
    const sent = this.sentAt.shift();
    const intended = this.intendedAt.shift();
    this.recvSeq++;
    const stats = this.stats;
    if (stats.recording) {
      if (this.frameMismatched) {
        stats.errors.mismatches++;
      } else {
        stats.answered(bytes, now, sent, intended);
        this.served = true;
      }
    }
    if (!this.frameMismatched) this.everServed = true;
    if (closedLoop && this.isRunning() && !this.isHeld()) this.sendFrame(now, NaN);
  }
}

export class TcpLoadError extends Error {
  override name = 'TcpLoadError';
}

export function validateTcpLoadOptions(o: TcpLoadOptions): void {
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new TcpLoadError(message);
  };
  check(
    Number.isInteger(o.connections) && o.connections >= 1,
    `connections must be a positive integer (got ${o.connections})`,
  );
  check(Number.isInteger(o.inFlight) && o.inFlight >= 1, `inFlight must be a positive integer (got ${o.inFlight})`);
  check(
    Number.isInteger(o.payloadBytes) && o.payloadBytes >= 0 && o.payloadBytes <= MAX_PAYLOAD_BYTES,
    `payloadBytes must be an integer from 0 to ${MAX_PAYLOAD_BYTES} (got ${o.payloadBytes})`,
  );
  check(o.durationSec > 0, `durationSec must be positive (got ${o.durationSec})`);
  check(o.warmupSec >= 0, `warmupSec must be ≥ 0 (got ${o.warmupSec})`);
  check(o.timeoutMs > 0, `timeoutMs must be positive (got ${o.timeoutMs})`);
  check(o.rate === undefined || o.rate > 0, `rate must be positive (got ${o.rate})`);
  check(
    !(o.rate !== undefined && o.pattern === 'connect-per-request'),
    'an open-loop rate applies to persistent connections only',
  );
  check(
    o.readyConnections === undefined || (Number.isInteger(o.readyConnections) && o.readyConnections >= 0),
    `readyConnections must be an integer ≥ 0 (got ${o.readyConnections})`,
  );
  check(
    o.readyTimeoutSec === undefined || o.readyTimeoutSec >= 0,
    `readyTimeoutSec must be ≥ 0 (got ${o.readyTimeoutSec})`,
  );
  if (o.requests !== undefined) {
    const { pairs, verify } = o.requests;
    check(
      pairs.length >= 1 && pairs.length <= MAX_REQUESTS,
      `requests must hold 1 to ${MAX_REQUESTS} pairs (got ${pairs.length})`,
    );
    check(VERIFY_MODES.includes(verify), `requests.verify must be one of ${VERIFY_MODES.join(', ')} (got ${verify})`);
    const tooBig = pairs.findIndex(
      (p) => p.request.length > MAX_PAYLOAD_BYTES || p.response.length > MAX_PAYLOAD_BYTES,
    );
    check(tooBig < 0, `request pair ${tooBig} has a payload over ${MAX_PAYLOAD_BYTES} bytes`);
  }
}

/** Runs one load: warmup (discarded), then the measured window. Resolves with the window's result. */
export async function runTcpLoad(o: TcpLoadOptions): Promise<LoadResult> {
  validateTcpLoadOptions(o);
  const stats = new Stats();
  let running = true;
  const expected = Math.min(o.readyConnections ?? 0, o.connections);
  let held = expected > 0 && o.pattern === 'persistent' && o.rate === undefined;
  const requests = o.requests ? new Requests(o.requests) : undefined;
  const connections = Array.from(
    { length: o.connections },
    (_, i) =>
      new EchoConnection(
        i,
        o,
        stats,
        () => running,
        () => held,
        requests,
      ),
  );
  const startedAt = performance.now();
  for (const c of connections) c.start();

  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setInterval(() => {
      const now = performance.now();
      for (const c of connections) c.checkTimeouts(now);
    }, 20),
  );
  if (o.rate !== undefined) {
    const perConnection = o.rate / o.connections;
    timers.push(
      setInterval(() => {
        const now = performance.now();
        for (const c of connections) c.sendDue(now, startedAt, perConnection);
      }, 1),
    );
  }

  const gate = {
    expected,
    timeoutSec: o.readyTimeoutSec ?? 30,
    count: () => connections.reduce((n, c) => n + (c.everServed ? 1 : 0), 0),
  };
  const { seconds, client, readiness } = await measureWindow(
    o,
    {
      open: () => {
        stats.reset();
        for (const c of connections) c.served = false;
        stats.recording = true;
      },
      close: () => {
        stats.recording = false;
      },
      ready: () => {
        held = false;
        for (const c of connections) c.refill();
      },
    },
    gate,
  );
  running = false;
  for (const t of timers) clearInterval(t);
  for (const c of connections) c.stop();
  o.onPhase?.('done');

  const openLoop = o.rate !== undefined;
  return {
    driver: 'node',
    seconds,
    messages: stats.messages,
    bytes: stats.bytes,
    msgsPerSec: stats.messages / seconds,
    bytesPerSec: stats.bytes / seconds,
    latency: summarize(stats.latency),
    ...(openLoop ? { latencyUncorrected: summarize(stats.uncorrected) } : {}),
    histogram: encodeHistogram(stats.latency),
    latencyResolution: 'us',
    errors: stats.errors,
    ...(stats.firstError !== undefined ? { firstError: stats.firstError } : {}),
    client,
    // Connect-per-request slots are not long-lived connections: serving is counted per persistent connection only.
    ...(o.pattern === 'persistent'
      ? { connections: { total: connections.length, served: connections.filter((c) => c.served).length } }
      : {}),
    ...(openLoop ? { openLoop: { targetRate: o.rate!, backlogged: stats.backlogged } } : {}),
    ...(readiness ? { readiness } : {}),
  };
}
