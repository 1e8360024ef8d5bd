/** Small deterministic echo clients for the tests (the load client is duration-based; these count exact frames). */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  return Buffer.concat([header, payload]);
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads exactly `bytes` bytes from a socket (or rejects on close/timeout). */
export function readExactly(socket: net.Socket, bytes: number, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => finish(new Error(`timed out after ${got}/${bytes} bytes`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= bytes) finish();
    };
    const onClose = (): void => finish(new Error(`connection closed after ${got}/${bytes} bytes`));
    function finish(error?: Error): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

export interface ExchangeReport {
  connections: number;
  frames: number;
  mismatches: number;
  failures: string[];
}

/**
 * `connections` concurrent connections each send `sizes` as pipelined frames (written in odd-sized pieces, so
 * frames straddle writes), half-close, and compare everything echoed with what was sent.
 */
export async function concurrentExchange(port: number, connections: number, sizes: readonly number[]): Promise<ExchangeReport> {
  const report: ExchangeReport = { connections, frames: 0, mismatches: 0, failures: [] };
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      try {
        const socket = await connect(port);
        const sent = Buffer.concat(sizes.map((s) => frame(randomBytes(s))));
        const echoed = readExactly(socket, sent.length);
        // Odd-sized pieces at first (headers split across writes), then large ones so big frames go quickly.
        const small = 1 + (i % 7) * 37;
        for (let off = 0; off < sent.length; ) {
          const step = off < 4096 ? small : 16_384;
          socket.write(sent.subarray(off, off + step));
          off += step;
        }
        const got = await echoed;
        socket.end();
        report.frames += sizes.length;
        if (!got.subarray(0, sent.length).equals(sent) || got.length !== sent.length) report.mismatches++;
      } catch (error) {
        report.failures.push(`connection ${i}: ${(error as Error).message}`);
      }
    }),
  );
  return report;
}

/** Sends one frame on an open connection and resolves when its echo is back, verified. */
export async function echoOnce(socket: net.Socket, size = 16): Promise<void> {
  const f = frame(randomBytes(size));
  const reply = readExactly(socket, f.length);
  socket.write(f);
  const got = await reply;
  if (!got.equals(f)) throw new Error('echo mismatch');
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
