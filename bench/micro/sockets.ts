/**
 * Socket primitives: one 64 B frame of the echo protocol to a one-connection server and back, over TCP loopback and
 * over a Unix socket. The server is a child process running the servers' own connection code (servers/tcp-echo.ts,
 * work none), so its CPU per round trip is what a server pays per message when each wake-up brings one message
 * (the iterative model's case). Also frame parsing alone: the same connection code fed 64 B frames with no I/O.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { FnReturnedObject } from 'tinybench';
import { HEADER_BYTES, writeHeader } from '../../servers/protocol.js';
import { serveEchoConnection } from '../../servers/tcp-echo.js';
import { ownCpuUs } from './measure.js';
import { startMicroChild } from './peer.js';
import { pinProcess } from './pin.js';
import type { Fixture, MicroContext, Primitive } from './primitive.js';

export const FRAME_PAYLOAD_BYTES = 64;

function frame(): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + FRAME_PAYLOAD_BYTES, 0x61);
  writeHeader(buf, 0, FRAME_PAYLOAD_BYTES);
  return buf;
}

/** A client connection of the echo protocol with one frame in flight: roundTrip() sends one and resolves on its echo. */
export interface EchoConnection {
  roundTrip(): Promise<void>;
  destroy(): void;
}

export async function connectEcho(open: () => net.Socket): Promise<EchoConnection> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = open();
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  const out = frame();
  let awaited = 0;
  let done: (() => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    awaited -= chunk.length;
    if (awaited <= 0) done?.();
  });
  const lost = (): void => failed?.(new Error('the echo connection closed'));
  socket.on('error', lost);
  socket.on('close', lost);
  return {
    roundTrip: () =>
      new Promise<void>((resolve, reject) => {
        awaited = out.length;
        done = resolve;
        failed = reject;
        socket.write(out);
      }),
    destroy: () => socket.destroy(),
  };
}

function echoRoundTrip(transport: 'tcp' | 'unix'): Primitive {
  return {
    id: `${transport}-rtt`,
    title: transport === 'tcp' ? 'TCP loopback round trip' : 'Unix-socket round trip',
    op: `one ${FRAME_PAYLOAD_BYTES} B frame to a one-connection echo server (child process on the CPU set) and back, the client on the suite's client CPU`,
    async setup(ctx: MicroContext): Promise<Fixture> {
      const socketPath = path.join(os.tmpdir(), `conbench-micro-${process.pid}.sock`);
      if (transport === 'unix') rmSync(socketPath, { force: true });
      // The server inherits this process's CPU set; then the client (this process) moves to the suite's client CPU.
      const peer = await startMicroChild('echo-server', [transport === 'tcp' ? 'tcp' : socketPath]);
      let conn: EchoConnection | undefined;
      const close = async (): Promise<void> => {
        conn?.destroy();
        await peer.close();
        if (transport === 'unix') rmSync(socketPath, { force: true });
        if (ctx.clientCpus !== undefined) pinProcess(ctx.cpus);
      };
      try {
        if (ctx.clientCpus !== undefined) pinProcess(ctx.clientCpus);
        conn = await connectEcho(() =>
          transport === 'tcp' ? net.connect(peer.port!, '127.0.0.1') : net.connect(socketPath),
        );
      } catch (error) {
        await close();
        throw error;
      }
      const echo = conn;
      return {
        fn: () => echo.roundTrip(),
        async: true,
        cpu: async () => ({ client: ownCpuUs(), server: await peer.cpuUs() }),
        details: () => ({
          payloadBytes: FRAME_PAYLOAD_BYTES,
          server: `servers/tcp-echo.ts in a child process on CPUs ${ctx.cpus}`,
          client: ctx.clientCpus !== undefined ? `CPU ${ctx.clientCpus}` : 'unpinned',
        }),
        close,
      };
    },
  };
}

/** Enough of a net.Socket for serveEchoConnection: it reads 'data' events and writes back, with no I/O at all. */
class NullSocket extends EventEmitter {
  destroyed = false;
  setNoDelay(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const FRAMES_PER_CALL = 1000;

const frameParsing: Primitive = {
  id: 'frame-parse',
  title: `frame parsing per ${FRAME_PAYLOAD_BYTES} B frame`,
  op: `one 'data' event carrying one ${FRAME_PAYLOAD_BYTES} B frame through the servers' connection code (no I/O); timed in batches of ${FRAMES_PER_CALL}`,
  async setup(): Promise<Fixture> {
    const socket = new NullSocket();
    serveEchoConnection(socket as unknown as net.Socket, () => undefined);
    const chunk = frame();
    return {
      fn: (): FnReturnedObject => {
        const t0 = performance.now();
        for (let i = 0; i < FRAMES_PER_CALL; i++) socket.emit('data', chunk);
        const elapsed = performance.now() - t0;
        return { overriddenDuration: elapsed / FRAMES_PER_CALL, overriddenIterationCost: elapsed };
      },
      async: false,
      opsPerCall: FRAMES_PER_CALL,
      cpu: async () => ({ process: ownCpuUs() }),
      details: () => ({ framesPerSample: FRAMES_PER_CALL }),
      close: async () => {
        socket.destroy();
      },
    };
  },
};

export const SOCKET_PRIMITIVES: readonly Primitive[] = [echoRoundTrip('tcp'), echoRoundTrip('unix'), frameParsing];
