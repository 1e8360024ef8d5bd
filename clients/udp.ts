/**
 * The verifying UDP echo client, sockperf-style. Each of N flows (one socket each) sends datagrams stamped with its
 * flow id and a sequence number, closed loop (D outstanding) or at a constant total rate, and counts what came back:
 * verified echoes with µs latency, lost (no answer within the timeout), duplicated, reordered (older than one
 * already seen) and mismatched (payload differs) datagrams.
 */
import type { LoadParams } from './load-params.js';
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { fillPayload } from '../lib/seeded-bytes.js';
import { performance } from 'node:perf_hooks';
import { summarize, encodeHistogram } from './histogram.js';
import { WindowCounters } from './counters.js';
import type { LoadResult } from './load-result.js';
import { measureWindow, sleep } from './window.js';
import { UDP_MAX_PAYLOAD, UDP_TAG_BYTES } from '../servers/protocol.js';

/** UDP load: connections are flows (one socket each); the pattern does not apply (no connections). */
export type UdpLoadOptions = LoadParams;

class Counters extends WindowCounters {
  /** After the window: answers no longer count, but datagrams sent in it that never come back are still lost. */
  countingLoss = false;
}

class Flow {
  private readonly socket: dgram.Socket;
  private readonly template: Buffer;
  private nextSeq = 0;
  /** seq → [sent, intended] for datagrams not yet answered or declared lost. */
  private readonly outstanding = new Map<number, [number, number]>();
  /** Seqs already answered or declared lost, recent ones only (to tell duplicates from strangers). */
  private readonly settled = new Set<number>();
  private highestAnswered = -1;
  /** Got at least one verified echo while recording. */
  served = false;
  private scheduled = 0;

  constructor(
    private readonly id: number,
    private readonly o: UdpLoadOptions,
    private readonly c: Counters,
    private readonly running: () => boolean,
  ) {
    this.socket = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
    this.template = Buffer.alloc(o.payloadBytes);
    fillPayload(this.template, UDP_TAG_BYTES, o.seed, randomFillSync);
    this.template.writeUInt32LE(id >>> 0, 0);
    this.socket.on('message', (msg) => this.receive(msg));
    this.socket.on('error', (error) => {
      if (!this.c.recording) return;
      this.c.errors.errors++;
      this.c.noteError(error);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(this.o.port, this.o.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    if (this.o.rate === undefined) for (let i = 0; i < this.o.inFlight; i++) this.send(performance.now(), NaN);
  }

  stop(): void {
    this.socket.close();
  }

  sendDue(now: number, startedAt: number, perFlowRate: number): void {
    const due = Math.floor(((now - startedAt) / 1000) * perFlowRate) + 1;
    while (this.scheduled < due) {
      const intended = startedAt + (this.scheduled * 1000) / perFlowRate;
      this.scheduled++;
      this.send(now, intended);
    }
  }

  /** Declares datagrams outstanding past the timeout lost (closed loop sends a replacement). */
  expire(now: number): void {
    for (const [seq, [sent]] of this.outstanding) {
      if (now - sent <= this.o.timeoutMs) continue;
      this.outstanding.delete(seq);
      this.settle(seq);
      if (this.c.recording || this.c.countingLoss) this.c.errors.lost++;
      if (this.o.rate === undefined && this.running()) this.send(now, NaN);
    }
  }

  private send(now: number, intended: number): void {
    const seq = this.nextSeq++;
    const datagram = Buffer.from(this.template);
    datagram.writeUInt32LE(seq >>> 0, 4);
    this.outstanding.set(seq, [now, intended]);
    this.socket.send(datagram);
  }

  private settle(seq: number): void {
    this.settled.add(seq);
    if (this.settled.size > 100_000) {
      for (const s of this.settled) {
        this.settled.delete(s);
        if (this.settled.size <= 50_000) break;
      }
    }
  }

  private receive(msg: Buffer): void {
    const now = performance.now();
    const c = this.c;
    const seq = msg.length >= UDP_TAG_BYTES ? msg.readUInt32LE(4) : -1;
    const entry = this.outstanding.get(seq);
    const intact =
      msg.length === this.template.length &&
      msg.readUInt32LE(0) === this.id &&
      msg.compare(this.template, UDP_TAG_BYTES, this.template.length, UDP_TAG_BYTES) === 0;
    if (!entry) {
      if (c.recording) {
        if (intact && this.settled.has(seq)) c.errors.duplicated++;
        else c.errors.mismatches++;
      }
      return;
    }
    this.outstanding.delete(seq);
    this.settle(seq);
    if (c.recording) {
      if (!intact) c.errors.mismatches++;
      else {
        if (seq < this.highestAnswered) c.errors.reordered++;
        c.answered(msg.length, now, entry[0], entry[1]);
        this.served = true;
      }
    }
    if (seq > this.highestAnswered) this.highestAnswered = seq;
    if (this.o.rate === undefined && this.running()) this.send(now, NaN);
  }
}

export class UdpLoadError extends Error {
  override name = 'UdpLoadError';
}

export async function runUdpLoad(o: UdpLoadOptions): Promise<LoadResult> {
  if (!(Number.isInteger(o.connections) && o.connections >= 1))
    throw new UdpLoadError(`connections (flows) must be a positive integer (got ${o.connections})`);
  if (!(Number.isInteger(o.inFlight) && o.inFlight >= 1))
    throw new UdpLoadError(`inFlight must be a positive integer (got ${o.inFlight})`);
  if (!(o.payloadBytes >= UDP_TAG_BYTES && o.payloadBytes <= UDP_MAX_PAYLOAD)) {
    throw new UdpLoadError(
      `UDP payload must be ${UDP_TAG_BYTES}–${UDP_MAX_PAYLOAD} bytes (it carries a flow id and sequence number) (got ${o.payloadBytes})`,
    );
  }
  const c = new Counters();
  let running = true;
  const flows = Array.from({ length: o.connections }, (_, i) => new Flow(i, o, c, () => running));
  const startedAt = performance.now();
  await Promise.all(flows.map((f) => f.start()));
  const expiry = setInterval(() => {
    const now = performance.now();
    for (const f of flows) f.expire(now);
  }, 20);
  const perFlow = o.rate !== undefined ? o.rate / o.connections : 0;
  const ticker =
    o.rate !== undefined
      ? setInterval(() => {
          const now = performance.now();
          for (const f of flows) f.sendDue(now, startedAt, perFlow);
        }, 1)
      : undefined;
  let messages = 0;
  let bytes = 0;
  let served = 0;
  const { seconds, client } = await measureWindow(o, {
    open: () => {
      c.reset();
      for (const f of flows) f.served = false;
      c.recording = true;
    },
    close: () => {
      messages = c.messages;
      bytes = c.bytes;
      served = flows.filter((f) => f.served).length;
      c.recording = false;
      c.countingLoss = true;
    },
  });
  o.onPhase?.('done'); // the server's resources are sampled over the window only, not the grace period below
  // Stop sending; what is still outstanding gets a grace period to come back, then counts as lost.
  running = false;
  clearInterval(ticker);
  await sleep(Math.min(o.timeoutMs, 1000));
  clearInterval(expiry);
  const final = performance.now() + o.timeoutMs;
  for (const f of flows) f.expire(final);
  c.countingLoss = false;
  for (const f of flows) f.stop();
  return {
    driver: 'udp',
    seconds,
    messages,
    bytes,
    msgsPerSec: messages / seconds,
    bytesPerSec: bytes / seconds,
    latency: summarize(c.latency),
    ...(o.rate !== undefined ? { latencyUncorrected: summarize(c.uncorrected) } : {}),
    histogram: encodeHistogram(c.latency),
    latencyResolution: 'us',
    errors: c.errors,
    ...(c.firstError !== undefined ? { firstError: c.firstError } : {}),
    client,
    connections: { total: flows.length, served },
  };
}
