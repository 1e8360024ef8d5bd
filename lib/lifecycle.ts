/**
 * How every command ends, whatever happens: one clear line and an exit code a script can trust (2 bad usage, 1 a
 * failure, 130/143 a signal), and nothing it started left running.
 *   - Each child process a command starts is tracked here; when the command's process exits, by any path, every
 *     tracked child still alive is killed (a detached server with its whole process group).
 *   - SIGINT, SIGTERM and the parent's death first ask the command to stop gracefully (abort what runs, keep what
 *     was measured); a command that has not ended `graceMs` later is ended: what it started is killed, and it exits.
 *     A second signal ends it at once.
 *   - An error ends the command at once: its message, what it started killed, the exit code. Nothing waits on a
 *     handle someone forgot to close (measured: an unwritable --out left the bench spinning for ten minutes).
 */
import type { ChildProcess } from 'node:child_process';
import { isUsageError } from './cli-args.js';

interface Tracked {
  child: ChildProcess;
  /** The child leads its own process group (spawned detached): the whole group is killed with it. */
  group: boolean;
}

const tracked = new Set<Tracked>();

/** Registers a child so that it is killed if the command ends before it does. Returns the child. */
export function track<C extends ChildProcess>(child: C, options: { group?: boolean } = {}): C {
  const entry: Tracked = { child, group: options.group === true };
  tracked.add(entry);
  child.once('exit', () => {
    // A group's other members (workers, children) may outlive its leader: the entry stays until they are killed.
    if (!entry.group) tracked.delete(entry);
  });
  return child;
}

/** Forgets a child once the caller has seen it (and its group) end. */
export function untrack(child: ChildProcess): void {
  for (const entry of tracked) if (entry.child === child) tracked.delete(entry);
}

/** Kills every tracked child still running (and each tracked group). Synchronous: safe in an 'exit' handler. */
export function killTracked(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const { child, group } of tracked) {
    if (child.pid === undefined) continue;
    try {
      if (group) process.kill(-child.pid, signal);
      else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    } catch {
      // already gone
    }
  }
  if (signal === 'SIGKILL') tracked.clear();
}

/** Children still tracked (for tests). */
export function trackedCount(): number {
  return tracked.size;
}

process.once('exit', () => killTracked('SIGKILL'));

/** Exit status of a command stopped by a signal (128 + its number, as shells report it). */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export type StopSignal = keyof typeof SIGNAL_EXIT;

export interface CommandOptions {
  /** The usage text: a usage error then says where to find it. */
  usage?: string;
  /**
   * Asked once on the first SIGINT/SIGTERM (or the parent's death, as SIGTERM): stop what runs and let main() end
   * with what it has. Without it, a signal ends the command at once.
   */
  onStop?: (signal: StopSignal, why: string) => void;
  /** How long a graceful stop may take before the command is ended anyway (default 15 s). */
  graceMs?: number;
  /**
   * A command that serves until it is stopped (a server, the agent): it handles its own signals and parent, and it
   * does not exit when main() resolves. Errors still end it.
   */
  resident?: boolean;
}

function end(code: number): never {
  killTracked('SIGKILL');
  process.exit(code);
}

/** The message of an error as one line, never a stack (CONBENCH_DEBUG=1 adds it). */
function describeError(error: unknown): string {
  const err = error as Error | undefined;
  const message = err?.message ?? String(error);
  return message.trim() === '' ? String(err?.name ?? error) : message;
}

/**
 * Runs a command's main: usage errors print one line and exit 2; other failures print their message and exit 1; a
 * signal stops it (gracefully when the command can) and exits with the signal's code. When main resolves the
 * command exits with process.exitCode, even if a forgotten handle would have kept it alive.
 */
export function runCommand(main: () => Promise<void>, options: CommandOptions = {}): void {
  let stopping: StopSignal | undefined;
  const onSignal = (signal: StopSignal, why: string): void => {
    if (stopping !== undefined || !options.onStop) {
      if (stopping !== undefined) process.stderr.write(`\n${why} again: quitting now\n`);
      end(SIGNAL_EXIT[stopping ?? signal]);
    }
    stopping = signal;
    options.onStop(signal, why);
    const graceMs = options.graceMs ?? 15_000;
    setTimeout(() => {
      process.stderr.write(
        `\nstill running ${Math.round(graceMs / 1000)} s after ${signal}: ending it and everything it started\n`,
      );
      end(SIGNAL_EXIT[signal]);
    }, graceMs).unref();
  };
  if (!options.resident) {
    process.on('SIGINT', () => onSignal('SIGINT', 'interrupted (SIGINT)'));
    process.on('SIGTERM', () => onSignal('SIGTERM', 'terminated (SIGTERM)'));
    watchParent(() => onSignal('SIGTERM', 'the parent process exited'));
  }

  main().then(
    () => {
      if (options.resident) return;
      const code =
        typeof process.exitCode === 'number' ? process.exitCode : stopping !== undefined ? SIGNAL_EXIT[stopping] : 0;
      if (stopping !== undefined && code === 0) end(SIGNAL_EXIT[stopping]);
      // Done: what it started goes, and a handle left open does not keep it alive.
      end(code);
    },
    (error: unknown) => {
      if (isUsageError(error)) {
        process.stderr.write(`error: ${describeError(error)}\n`);
        if (options.usage && (error as Error).name === 'UsageError')
          process.stderr.write('run with --help for usage\n');
        end(2);
      }
      process.stderr.write(`error: ${describeError(error)}\n`);
      if (process.env.CONBENCH_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
      end(stopping !== undefined ? SIGNAL_EXIT[stopping] : 1);
    },
  );
}

/**
 * Node has no PR_SET_PDEATHSIG: a process whose parent died (npm killed by `timeout`, a cancelled CI job, an
 * orchestrator killed with SIGKILL) notices by polling its parent pid, and then stops what it started instead of
 * running on as an orphan.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 500): void {
  const parent = process.ppid;
  let told = false;
  setInterval(() => {
    if (!told && process.ppid !== parent) {
      told = true;
      onOrphaned();
    }
  }, intervalMs).unref();
}
