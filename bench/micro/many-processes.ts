/**
 * The echo round trip again, spread over many processes: N one-connection echo servers (child processes running the
 * servers' own connection code, as in tcp-rtt) share the CPU set, and the client keeps one 64 B frame in flight on
 * each of their N connections. Every frame then wakes a different process with one frame to read: no batching of
 * frames per wake-up, and a switch between N Node processes per frame. That is the steady state of a
 * process-per-connection server, which none of the one-process primitives shows.
 * The processes are fresh, started for the measurement, as fork-per-connection's children are in a run: their code
 * is still cold (interpreted, not yet optimized) over their first thousands of frames, and that costs more than the
 * switch itself. So the record says how many frames each process had served by the end (framesPerProcess).
 */
import net from 'node:net';
import { ECHO_PROCESSES, manyProcessesId } from '../data/micro-record.js';
import { performance } from 'node:perf_hooks';
import type { FnReturnedObject } from 'tinybench';
import { ownCpuUs } from './measure.js';
import { startMicroChild, type MicroChild } from './peer.js';
import { pinProcess } from './pin.js';
import { connectEcho, FRAME_PAYLOAD_BYTES, type EchoConnection } from './sockets.js';
import type { Fixture, MicroContext, Primitive } from './primitive.js';

/** Starts `count` echo-server children, `parallel` at a time (each start is a Node boot); stops them all on failure. */
async function startEchoServers(count: number, parallel: number): Promise<MicroChild[]> {
  const started: MicroChild[] = [];
  try {
    while (started.length < count) {
      const wave = Math.min(parallel, count - started.length);
      const results = await Promise.allSettled(
        Array.from({ length: wave }, () => startMicroChild('echo-server', ['tcp'])),
      );
      for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (error) {
    await Promise.all(started.map((c) => c.close()));
    throw error;
  }
  return started;
}

export function manyProcessesEcho(processes: number): Primitive {
  return {
    id: manyProcessesId(processes),
    title: `TCP round trips, ${processes} fresh one-connection echo processes`,
    op: `one ${FRAME_PAYLOAD_BYTES} B frame on each of ${processes} connections at once, each to its own one-connection echo server (child processes sharing the CPU set, started for the measurement), until all are echoed; per frame, the client on the suite's client CPU`,
    minSamples: 16,
    async setup(ctx: MicroContext): Promise<Fixture> {
      // The servers inherit this process's CPU set; then the client (this process) moves to the suite's client CPU.
      const peers = await startEchoServers(processes, ctx.cpuCount);
      const conns: EchoConnection[] = [];
      const close = async (): Promise<void> => {
        for (const c of conns) c.destroy();
        await Promise.all(peers.map((p) => p.close()));
        if (ctx.clientCpus !== undefined) pinProcess(ctx.cpus);
      };
      try {
        if (ctx.clientCpus !== undefined) pinProcess(ctx.clientCpus);
        for (const peer of peers) conns.push(await connectEcho(() => net.connect(peer.port!, '127.0.0.1')));
      } catch (error) {
        await close();
        throw error;
      }
      let rounds = 0; // frames each process has served, warm-up included
      return {
        fn: async (): Promise<FnReturnedObject> => {
          const t0 = performance.now();
          await Promise.all(conns.map((c) => c.roundTrip()));
          rounds++;
          const elapsed = performance.now() - t0;
          return { overriddenDuration: elapsed / processes, overriddenIterationCost: elapsed };
        },
        async: true,
        opsPerCall: processes,
        cpu: async () => {
          const servers = await Promise.all(peers.map((p) => p.cpuUs()));
          return { client: ownCpuUs(), server: servers.reduce((sum, us) => sum + us, 0) };
        },
        details: () => ({
          processes,
          payloadBytes: FRAME_PAYLOAD_BYTES,
          framesPerSample: processes,
          framesPerProcess: rounds,
          server: `servers/tcp-echo.ts in ${processes} child processes on CPUs ${ctx.cpus}, one connection each`,
          client: ctx.clientCpus !== undefined ? `CPU ${ctx.clientCpus}` : 'unpinned',
        }),
        close,
      };
    },
  };
}

export const MANY_PROCESS_PRIMITIVES: readonly Primitive[] = [manyProcessesEcho(ECHO_PROCESSES)];
