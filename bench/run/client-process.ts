/**
 * Runs a load driver as its own (optionally pinned) process. Every driver speaks the same line protocol on stdout:
 * "CONBENCH_PHASE measure" when the measured window opens, "CONBENCH_PHASE done" when it closes, and one result line
 * (its prefix and conversion come with the driver's command: the Node entries print a LoadResult, the C driver its
 * own result, converted once here). Keeping the client out of the orchestrator's process means its CPU can be
 * pinned and measured on its own.
 */
import { createInterface } from 'node:readline';
import type { LoadResult } from '../../clients/load-result.js';
import { PHASE_PREFIX } from '../../clients/line-protocol.js';
import type { DriverCommand } from '../../clients/drivers.js';
import { spawnDriver } from '../../clients/spawn-driver.js';

export interface ClientRun extends DriverCommand {
  cpus?: string;
  /** Hard limit: the client is killed past it (a hung client must not hang the suite). */
  timeoutMs: number;
  /** Aborting kills the client at once (SIGTERM, SIGKILL 500 ms later) and rejects. */
  signal?: AbortSignal;
  /** With a lingering driver, its connections stay open until what 'done' returns has settled. */
  onPhase?: (phase: 'measure' | 'done') => undefined | Promise<unknown>;
}

export function runClientProcess(run: ClientRun): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawnDriver({
      command: run.command,
      args: run.args,
      ...(run.cpus !== undefined ? { cpus: run.cpus } : {}),
    });
    // A lingering driver keeps its connections open after its window until its stdin ends: the server (a process
    // or thread per connection) is sampled whole first. Any other driver's stdin ends at once.
    const release = (): void => {
      child.stdin.end();
    };
    child.stdin.on('error', () => {}); // a driver that already exited: nothing to release
    if (!run.lingers) release();
    let result: LoadResult | undefined;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 16_000) stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, run.timeoutMs);
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 500);
    };
    run.signal?.addEventListener('abort', onAbort, { once: true });
    if (run.signal?.aborted) onAbort();
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(PHASE_PREFIX)) {
        const phase = line.slice(PHASE_PREFIX.length).trim();
        if (phase === 'measure') void run.onPhase?.(phase);
        else if (phase === 'done')
          void Promise.resolve(run.onPhase?.(phase))
            .catch(() => {})
            .finally(release);
      } else if (line.startsWith(run.resultPrefix)) {
        try {
          result = run.toResult(JSON.parse(line.slice(run.resultPrefix.length)));
        } catch {
          // reported below as a missing result
        }
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start the load client (${run.command}): ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      run.signal?.removeEventListener('abort', onAbort);
      if (result && !run.signal?.aborted) resolve(result);
      else {
        const why = run.signal?.aborted
          ? 'interrupted'
          : timedOut
            ? `killed after its ${run.timeoutMs} ms limit`
            : signal
              ? `killed by ${signal}`
              : `exit code ${code}`;
        const text = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`load client gave no result (${why})${text ? `: ${text}` : ''}`));
      }
    });
  });
}
