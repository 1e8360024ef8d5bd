/**
 * The FIFO queue of the per-connection models (fork-per-connection, thread-per-connection): at most `cap` servers
 * (processes or threads) alive at once; over the cap a new connection is not refused but WAITS, paused
 * (pauseOnConnect: its bytes stay in the kernel), and gets a server as soon as one ends. That mirrors a pre-fork
 * server at its process limit, where new clients sit in the accept queue; refusing instead would turn overload into
 * errors rather than latency. A queued connection whose client has left (departed-peers.ts tells, every SWEEP_MS
 * while anything waits) is dropped instead of being given a server: otherwise 1000 slowloris clients that connected
 * and left cost 1000 starts before the next real client is served.
 */
import net from 'node:net';
import { listenOn } from '../listen.js';
import { departedPeers } from './departed-peers.js';

/** How often the queue is checked for clients that left, while anything waits in it. */
const SWEEP_MS = 250;

export class ConnectionQueue {
  private waiting: net.Socket[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  /** `live()` is how many servers are alive (starting ones included); `serve` starts one for a socket. */
  constructor(
    private readonly cap: number,
    private readonly live: () => number,
    private readonly serve: (socket: net.Socket) => void,
  ) {}

  /** A newly accepted (paused) connection: served now if there is room, else queued. */
  add(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.waiting.push(socket);
    this.serveNext();
    if (this.waiting.length > 0 && this.sweeper === undefined)
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /** Call when a server ended: the next waiting connections get one. */
  serveNext(): void {
    while (!this.closed && this.live() < this.cap && this.waiting.length > 0) {
      const socket = this.waiting.shift()!;
      if (!socket.destroyed) this.serve(socket);
    }
  }

  /** Stops serving: every waiting connection is closed. */
  close(): void {
    this.closed = true;
    this.stopSweeping();
    for (const socket of this.waiting.splice(0)) socket.destroy();
  }

  private sweep(): void {
    for (const socket of departedPeers(this.waiting.filter((s) => !s.destroyed))) socket.destroy();
    this.waiting = this.waiting.filter((s) => !s.destroyed);
    if (this.waiting.length === 0) this.stopSweeping();
  }

  private stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

/** Listens on host:port and puts every accepted connection, paused, into the queue. */
export async function listenIntoQueue(
  queue: ConnectionQueue,
  host: string,
  port: number,
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    queue.add(socket);
  });
  return { server, port: await listenOn(server, host, port) };
}
