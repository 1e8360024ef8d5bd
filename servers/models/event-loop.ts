/** One thread, one net.Server: libuv multiplexes every connection on epoll. The select/poll design. */
import { openEndpoint } from '../endpoint.js';
import { localHandler } from '../handler.js';
import type { RunningServer, ModelStartOptions } from '../types.js';

export async function start(options: ModelStartOptions): Promise<RunningServer> {
  const endpoint = await openEndpoint(options.protocol, options, await localHandler(options.work));
  return { port: endpoint.port, workers: 1, close: endpoint.close };
}
