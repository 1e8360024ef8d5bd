/**
 * The far side of the process micro-benchmarks, started with child_process.fork. argv[2] is the role:
 *   ipc-echo      sends every message straight back
 *   handle-sink   takes each handed socket, closes its copy and answers "taken"
 *   echo-server   serves the framed echo protocol with the servers' own code (servers/tcp-echo.ts, work none) on
 *                 127.0.0.1:0 (argv[3] = "tcp") or on a Unix socket (argv[3] = its path)
 *   spin          keeps its CPU busy with the cpu: loop (argv[3] iterations per slice), yielding between slices
 * Every role first sends { type: 'ready', port? }, answers { type: 'cpu?' } with its own CPU µs so far, and exits when
 * its parent disconnects (or dies), so nothing outlives the micro-benchmark.
 */
import net from 'node:net';
import { serveEchoConnection } from '../../../servers/tcp-echo.js';
import { spin } from '../../../servers/work.js';
import { reportStartFailure, type ChildMessage } from '../../../servers/models/supervise.js';
import { isCpuQuery, type CpuAnswer, type Role } from '../child-protocol.js';

function cpuAnswer(): CpuAnswer {
  const u = process.cpuUsage();
  return { type: 'cpu', us: u.user + u.system };
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('the micro child is started by child_process.fork (it needs an IPC channel)');
  const role = process.argv[2] as Role;
  process.on('disconnect', () => process.exit(0));
  let port: number | undefined;
  switch (role) {
    case 'ipc-echo':
      process.on('message', (message) => send(isCpuQuery(message) ? cpuAnswer() : message));
      break;
    case 'handle-sink':
      process.on('message', (message, handle) => {
        if (isCpuQuery(message)) send(cpuAnswer());
        else if (handle instanceof net.Socket) {
          handle.destroy();
          send('taken');
        }
      });
      break;
    case 'echo-server': {
      const where = process.argv[3];
      if (!where) throw new Error('echo-server needs "tcp" or a Unix socket path');
      const server = net.createServer((socket) => serveEchoConnection(socket, () => undefined));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        if (where === 'tcp') server.listen(0, '127.0.0.1', resolve);
        else server.listen(where, resolve);
      });
      const address = server.address();
      if (address !== null && typeof address === 'object') port = address.port;
      process.on('message', (message) => isCpuQuery(message) && send(cpuAnswer()));
      break;
    }
    case 'spin': {
      const slice = Number(process.argv[3]);
      if (!(slice > 0)) throw new Error('spin needs iterations per slice');
      const loop = (): void => {
        spin(slice);
        setImmediate(loop); // between slices the IPC channel is served, so a disconnect is heard
      };
      setImmediate(loop);
      process.on('message', (message) => isCpuQuery(message) && send(cpuAnswer()));
      break;
    }
    default:
      throw new Error(`unknown micro child role "${String(role)}"`);
  }
  send({ type: 'ready', ...(port !== undefined ? { port } : {}) } satisfies ChildMessage);
}

main().catch(reportStartFailure);
