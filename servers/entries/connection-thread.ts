/**
 * The thread of one connection in the thread-per-connection model. Node cannot hand a socket to a thread, so the
 * main thread keeps the socket and relays its bytes over this thread's port; here a RelayedSocket (a Duplex that
 * speaks that relay) is served with the endpoint's handed-socket code, so the frame parsing, the handler work and
 * the echo all run on this thread, as they would on a thread that owned the socket. The main thread ends the thread
 * (terminate) once the socket has closed. The relay's messages are in thread-relay.ts.
 */
import { Duplex } from 'node:stream';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Socket } from 'node:net';
import { serveEchoConnection } from '../tcp-echo.js';
import { localHandler } from '../handler.js';
import { serveRequestConnection } from '../tcp-respond.js';
import { post, type ConnectionThreadData, type FromThread, type ToThread } from '../thread-relay.js';

/** The socket as this thread sees it: what the endpoint's connection code uses of a net.Socket, over the relay. */
class RelayedSocket extends Duplex {
  private upstreamPaused = false;
  private idle: NodeJS.Timeout | undefined;
  private idleMs = 0;

  constructor(
    private readonly port: MessagePort,
    readonly remoteAddress: string | undefined,
    readonly remotePort: number | undefined,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Bytes from the client; asks the main thread to stop reading while this side's buffer is full. */
  receive(chunk: Buffer): void {
    this.touch();
    if (!this.push(chunk) && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.port.postMessage('pause' satisfies FromThread);
    }
  }

  override _read(): void {
    if (!this.upstreamPaused) return;
    this.upstreamPaused = false;
    this.port.postMessage('resume' satisfies FromThread);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.touch();
    post(this.port, chunk);
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.port.postMessage('end' satisfies FromThread);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.idle);
    // Ended in order (both directions finished): the main thread closes the socket itself once its writes are out.
    if (error || !this.writableFinished) this.port.postMessage('destroy' satisfies FromThread);
    done(error);
  }

  /** net.Socket's options the connection code sets; the main thread's socket already has them (noDelay). */
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  /** Idle timeout, as net.Socket's (the HTTP server's keep-alive timeout uses it). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) this.once('timeout', onTimeout);
    this.touch();
    return this;
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = this.idleMs > 0 ? setTimeout(() => this.emit('timeout'), this.idleMs).unref() : undefined;
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('connection-thread runs as a worker thread only');
  const data = workerData as ConnectionThreadData;
  const socket = new RelayedSocket(port, data.remoteAddress, data.remotePort);
  port.on('message', (message: ToThread) => {
    if (message instanceof Uint8Array)
      socket.receive(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    else if (message === 'end') socket.push(null);
    else if (message === 'close') socket.destroy();
  });
  const handler = await localHandler(data.work);
  // TCP loads only the framed protocol's servers: the endpoint module brings node:http and node:dgram, which cost a
  // new thread ~20 ms more CPU to start (measured: 68–75 ms with them, 52 ms for an empty thread).
  const serve =
    data.protocol === 'tcp'
      ? handler.kind === 'echo'
        ? (s: Socket) => serveEchoConnection(s, handler.beforeFrame)
        : (s: Socket) => serveRequestConnection(s, handler.respond)
      : (await import('../endpoint.js')).handedSocketServer(data.protocol, handler);
  serve(socket as unknown as Socket);
  port.postMessage({ type: 'ready' } satisfies FromThread);
}

void main();
