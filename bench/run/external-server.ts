/**
 * A server brought from outside (`--server NAME=COMMAND`) started the way the built-in models are: a fresh process per
 * run, `/bin/sh -c COMMAND` in its own process group, pinned by the same split, stopped by SIGTERM then SIGKILL to
 * the group. It prints no ready line of conbench's, so it is ready when it answers: its port is the one put in for
 * `{port}`, or the first integer on its first line of stdout, and it must accept a connection and answer one request
 * of its protocol (a framed TCP echo, an HTTP POST echoed or a GET of its path, a UDP datagram echoed) byte for byte.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import http from 'node:http';
import type { Protocol } from '../../servers/protocol.js';

/** A free TCP port on 127.0.0.1 (the kernel's choice, released at once for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The command with `{port}` replaced, or undefined when it names no port (it then prints the one it took). */
export function withPort(command: string, port: number): string | undefined {
  return command.includes('{port}') ? command.replaceAll('{port}', String(port)) : undefined;
}

/** The port a server printed: the first integer on its first line, or undefined. Pure. */
export function portFromLine(line: string): number | undefined {
  const m = /\d+/.exec(line);
  const port = m ? Number(m[0]) : NaN;
  return port >= 1 && port <= 65535 ? port : undefined;
}

const PROBE = Buffer.from('conbench-ready-probe');

/** One framed TCP request answered byte for byte. */
function probeTcp(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const frame = Buffer.alloc(4 + PROBE.length);
    frame.writeUInt32BE(PROBE.length, 0);
    PROBE.copy(frame, 4);
    let got = Buffer.alloc(0);
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer to a ${frame.length}-byte frame within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= frame.length)
        done(
          got.subarray(0, frame.length).equals(frame)
            ? undefined
            : 'it answered a framed request with other bytes (is it a framed echo server?)',
        );
    });
    socket.once('error', (e) => done(`connect: ${e.message}`));
  });
}

/** An HTTP POST echoed, or with a path, a GET answered 200. */
function probeHttp(
  host: string,
  port: number,
  path: string | undefined,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      { host, port, path: path ?? '/', method: path ? 'GET' : 'POST', timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(`HTTP ${res.statusCode} from ${path ? `GET ${path}` : 'POST /'}`);
          if (!path && !Buffer.concat(chunks).equals(PROBE))
            return resolve('it answered POST / with another body (give the GET path it serves in a --servers file)');
          resolve(undefined);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve(e.message));
    req.end(path ? undefined : PROBE);
  });
}

/** A UDP datagram echoed. */
function probeUdp(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      socket.close();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no datagram back within ${timeoutMs} ms`), timeoutMs);
    socket.on('message', (m) => done(m.equals(PROBE) ? undefined : 'it answered a datagram with other bytes'));
    socket.on('error', (e) => done(e.message));
    socket.send(PROBE, port, host);
  });
}

/** Why the server is not answering its protocol yet, or undefined once it does. */
export function probe(
  protocol: Protocol,
  host: string,
  port: number,
  httpPath: string | undefined,
  timeoutMs = 1000,
): Promise<string | undefined> {
  if (protocol === 'http') return probeHttp(host, port, httpPath, timeoutMs);
  if (protocol === 'udp') return probeUdp(host, port, timeoutMs);
  return probeTcp(host, port, timeoutMs);
}
