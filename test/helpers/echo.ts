/** Small deterministic echo clients for the tests (the load client is duration-based; these count exact frames). */
import net from 'node:net';
import http from 'node:http';
import dgram from 'node:dgram';
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
export async function concurrentExchange(
  port: number,
  connections: number,
  sizes: readonly number[],
): Promise<ExchangeReport> {
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

/** `clients` concurrent HTTP clients (keep-alive unless told otherwise) each POST `requests` random bodies and GET once; all must echo. */
export async function httpExchange(
  port: number,
  clients: number,
  requests: number,
  sizes: readonly number[],
  keepAlive = true,
): Promise<ExchangeReport> {
  const report: ExchangeReport = { connections: clients, frames: 0, mismatches: 0, failures: [] };
  const request = (agent: http.Agent, method: string, body?: Buffer): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method, path: '/', agent, headers: body ? { 'content-length': body.length } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  // Each client is one connection (kept alive across its requests) that it closes when it is done, as a browser tab
  // or a service client would: a shared pool would keep idle connections open, and a server with a process per
  // connection would keep the clients queued behind them waiting for its keep-alive timeout.
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const agent = new http.Agent({ keepAlive, maxSockets: 1 });
      try {
        for (let r = 0; r < requests; r++) {
          const body = randomBytes(sizes[(i + r) % sizes.length]!);
          const res = await request(agent, 'POST', body);
          report.frames++;
          if (res.status !== 200 || !res.body.equals(body)) report.mismatches++;
        }
        const get = await request(agent, 'GET');
        if (get.status !== 200 || get.body.toString() !== 'conbench ok\n') report.mismatches++;
      } catch (error) {
        report.failures.push(`client ${i}: ${(error as Error).message}`);
      } finally {
        agent.destroy();
      }
    }),
  );
  return report;
}

/** `flows` UDP sockets each send `count` datagrams one at a time and check every echo. */
export async function udpExchange(port: number, flows: number, count: number, size: number): Promise<ExchangeReport> {
  const report: ExchangeReport = { connections: flows, frames: 0, mismatches: 0, failures: [] };
  await Promise.all(
    Array.from({ length: flows }, async (_, i) => {
      const socket = dgram.createSocket('udp4');
      try {
        await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', () => resolve()));
        for (let n = 0; n < count; n++) {
          const datagram = randomBytes(size);
          // Retry a lost datagram a few times: loopback UDP may drop under load, and loss is not what this checks.
          let echoed: Buffer | undefined;
          for (let attempt = 0; attempt < 5 && !echoed; attempt++) {
            echoed = await new Promise<Buffer | undefined>((resolve) => {
              const timer = setTimeout(() => {
                socket.off('message', onMessage);
                resolve(undefined);
              }, 1000);
              const onMessage = (m: Buffer): void => {
                if (!m.equals(datagram)) return; // a late echo of an earlier try
                clearTimeout(timer);
                socket.off('message', onMessage);
                resolve(m);
              };
              socket.on('message', onMessage);
              socket.send(datagram);
            });
          }
          report.frames++;
          if (!echoed) report.mismatches++;
        }
      } catch (error) {
        report.failures.push(`flow ${i}: ${(error as Error).message}`);
      } finally {
        socket.close();
      }
    }),
  );
  return report;
}

/** A raw TCP server with custom behaviour per connection; close() also destroys the connections still open. */
export async function rawServer(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
