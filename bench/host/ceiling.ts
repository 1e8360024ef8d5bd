/**
 * The load driver's own ceiling, measured in the same run: the driver against the fastest server available doing
 * the least work (nginx returning a fixed body to GET when nginx is installed, else our event-loop HTTP server's
 * GET). A model row that comes within 20 % of that ceiling is marked client-bound: its number is the driver's
 * limit, not the server's. (autocannon is one JS thread; here it reaches far less than wrk against the same nginx.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hasCommand } from '../run/env.js';
import type { ExitInfo, ServerProcess } from '../run/server-process.js';
import { localHandle, type ServerHandle } from '../run/server-host.js';
import type { CellContext, CellSubject } from '../run/run-cell.js';
import { CEILING_PREFIX } from '../data/record.js';
import { HTTP_GET_BODY } from '../../servers/http-echo.js';
import { track } from '../../lib/lifecycle.js';

export interface CeilingTarget {
  /** Record model name, e.g. "ceiling:nginx". */
  name: string;
  describe: string;
  start(ctx: CellContext): Promise<ServerHandle>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, port: number, workers: number): string {
  const body = HTTP_GET_BODY.toString().replace(/\n/g, '\\n');
  return `daemon off;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port} reuseport;
    location / { default_type text/plain; return 200 "${body}"; }
  }
}
`;
}

/** nginx as a ServerProcess: same ready/stop contract as our servers. */
async function startNginx(cpus: string | undefined, workers: number): Promise<ServerProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-nginx-'));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, workers));
  const args = ['-c', conf, '-p', dir, '-e', path.join(dir, 'error.log')];
  const [command, argv] = cpus !== undefined ? ['taskset', ['-c', cpus, 'nginx', ...args]] : ['nginx', args];
  const child = track(
    spawn(command as string, argv as string[], { stdio: ['ignore', 'ignore', 'pipe'], detached: true }),
    { group: true },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) =>
    child.once('exit', (code, signal) => resolve((exitInfo = { code, signal }))),
  );
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      cleanup();
      throw new Error(`nginx exited before ready: ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL');
      cleanup();
      throw new Error('nginx did not start listening within 10 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ready: {
      model: 'ceiling:nginx',
      protocol: 'http',
      host: '127.0.0.1',
      port,
      pid: child.pid!,
      workers,
      work: 'none',
    },
    pid: child.pid!,
    child,
    stderr: () => stderr,
    exited,
    exitInfo: () => exitInfo,
    stoppedBecause: () => undefined,
    stop: async (timeoutMs = 5000) => {
      if (child.exitCode === null) child.kill('SIGQUIT'); // graceful shutdown
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      const end = await exited;
      clearTimeout(timer);
      cleanup();
      return { ...end, forced: end.signal === 'SIGKILL' };
    },
  };
}

/**
 * The ceiling target for HTTP: nginx if installed, else the event-loop model. With servers on a serve agent the
 * ceiling must cross the same network, so it is the event-loop model there (the agent starts registered models only).
 */
export function httpCeilingTarget(workers: number, onAgent = false): CeilingTarget {
  if (!onAgent && hasCommand('nginx')) {
    return {
      name: `${CEILING_PREFIX}nginx`,
      describe: `nginx (${workers} worker${workers > 1 ? 's' : ''}) answering GET with a fixed body`,
      start: async (ctx) => localHandle(await startNginx(ctx.split.server, workers)),
    };
  }
  return {
    name: `${CEILING_PREFIX}event-loop`,
    describe: onAgent
      ? 'our event-loop HTTP server on the agent answering GET'
      : 'our event-loop HTTP server answering GET (nginx is not installed)',
    start: (ctx) =>
      ctx.host.start({
        model: 'event-loop',
        protocol: 'http',
        ...(ctx.split.server !== undefined ? { cpus: ctx.split.server } : {}),
        pin: ctx.split.mode,
      }),
  };
}

/** A ceiling measurement as a cell of the schedule: GET with no handler work, against the ceiling target. */
export function ceilingSubject(target: CeilingTarget): CellSubject {
  return {
    name: target.name,
    available: () => ({ ok: true }),
    load: (w) => ({ ...w, payloadBytes: 0, work: 'none' }),
    start: (_workload, _workers, ctx) => target.start(ctx),
  };
}
