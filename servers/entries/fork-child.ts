/**
 * A child of the fork-pool and fork-per-connection models. The parent accepts with pauseOnConnect and sends each
 * socket here with child.send('socket', socket); this child serves it with the shared handed-socket code of the
 * endpoint (so it speaks whatever stream protocol the endpoint does).
 *
 * argv[2] is the mode: `pool` serves every socket it is handed for as long as it lives; `single` serves one socket
 * and exits when that connection closes (process-per-connection). Either way the child exits if its parent goes.
 */
import type { Socket } from 'node:net';
import { Socket as NetSocket } from 'node:net';
import { handedSocketServer } from '../endpoint.js';
import { localHandler } from '../handler.js';
import { trackSockets } from '../listen.js';
import { reportStartFailure, type ChildMessage } from '../models/supervise.js';
import { readChildConfig } from './child-config.js';

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode !== 'pool' && mode !== 'single') throw new Error(`fork-child mode must be pool or single (got ${mode})`);
  if (!process.send) throw new Error('fork-child needs an IPC channel: it is started by child_process.fork');
  const config = readChildConfig();
  const serve = handedSocketServer(config.protocol, await localHandler(config.work));
  const open = new Set<Socket>();
  let served = 0;

  process.on('message', (message: unknown, handle: unknown) => {
    if (message !== 'socket') return;
    if (!(handle instanceof NetSocket)) {
      // The parent's copy was gone before it could be sent: a single-connection child has nothing left to serve.
      if (mode === 'single' && served === 0) process.exit(0);
      return;
    }
    if (mode === 'single' && served > 0) {
      handle.destroy();
      return;
    }
    served++;
    // The socket is rebuilt here without the parent server's options: allow half-open like every other model, so a
    // client that shuts down its sending side still gets the whole echo.
    handle.allowHalfOpen = true;
    trackSockets(open, handle);
    if (mode === 'single') handle.once('close', () => process.exit(0));
    serve(handle);
    handle.resume();
  });
  // The parent is gone (or dropped us): nothing will hand us sockets or stop us, so leave now.
  process.on('disconnect', () => {
    for (const socket of open) socket.destroy();
    process.exit(0);
  });
  process.send({ type: 'ready' } satisfies ChildMessage);
}

main().catch(reportStartFailure);
