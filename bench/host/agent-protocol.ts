/**
 * The serve agent's wire protocol: newline-delimited JSON over one TCP connection per bench. The bench sends
 * requests `{id, type, …}` one at a time and the agent answers each with `{id, ok: true, …}` or
 * `{id, ok: false, kind, error}`. The first request must be `hello` with the token; servers started over a
 * connection live no longer than it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { UsageError } from '../../lib/cli-args.js';
import type { CpuSplit } from '../run/pinning.js';
import type { ReadyInfo } from '../../servers/protocol.js';
import type { Environment, PinMode, ServerUsage } from '../data/record.js';
import type { StopResult } from '../run/server-host.js';

/** The line the agent prints on stdout once it listens: `CONBENCH_AGENT {"host":…,"port":…}`. */
export const AGENT_LISTENING_PREFIX = 'CONBENCH_AGENT ';
/** Longest accepted line: requests are small; anything longer is a client error, not something to buffer. */
export const MAX_LINE_BYTES = 64 * 1024;
/** A token shorter than this is refused at agent start (guessable). */
export const MIN_TOKEN_CHARS = 16;
export const PIN_MODES: readonly PinMode[] = ['separate', 'shared', 'off'];

export type Request =
  | { id: number; type: 'hello'; token?: string }
  | { id: number; type: 'calibrate'; pin: PinMode }
  /** options: serve's flags (model, protocol, work, workers, max-children, cpu-rate) as strings. */
  | { id: number; type: 'start'; pin: PinMode; options: Record<string, string> }
  | { id: number; type: 'sample-start'; server: number }
  | { id: number; type: 'sample-finish'; server: number }
  | { id: number; type: 'stop'; server: number; timeoutMs?: number };

export interface Welcome {
  agent: Environment;
  /** The agent machine's boot id, so a bench can tell whether it shares the machine. */
  bootId?: string;
  splits: Record<PinMode, CpuSplit>;
}

/** The successful answer's payload, per request type. */
export interface Answers {
  hello: Welcome;
  calibrate: { cpuRate: number };
  start: { server: number; ready: ReadyInfo };
  'sample-start': Record<string, never>;
  'sample-finish': { usage?: ServerUsage };
  stop: StopResult;
}

/** usage: the request was bad (exit 2 at the bench); auth: no or wrong token; failure: it went wrong on the agent. */
export type ErrorKind = 'usage' | 'auth' | 'failure';

export type Reply =
  | ({ id: number; ok: true } & Record<string, unknown>)
  | { id: number; ok: false; kind: ErrorKind; error: string };

export function encode(message: Request | Reply): string {
  return JSON.stringify(message) + '\n';
}

/**
 * Calls onMessage with each JSON line read from the socket. A line that is not JSON, or longer than
 * MAX_LINE_BYTES, goes to onBadInput instead and ends the reading.
 */
export function readJsonLines(
  socket: net.Socket,
  onMessage: (message: unknown) => void,
  onBadInput: (why: string) => void,
): void {
  let buffered = '';
  let broken = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (broken) return;
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        broken = true;
        onBadInput('a line that is not JSON');
        return;
      }
      onMessage(message);
    }
    if (buffered.length > MAX_LINE_BYTES) {
      broken = true;
      onBadInput(`a line longer than ${MAX_LINE_BYTES} bytes`);
    }
  });
}

/** Constant-time token check: both sides hashed to equal-length digests first, so the length leaks nothing either. */
export function tokenMatches(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token in a file (surrounding whitespace ignored), or a usage error naming the flag. */
export function readTokenFile(file: string, flag: string, minChars = 1): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UsageError(
      `--${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  if (token.length < minChars) {
    throw new UsageError(
      `--${flag} ${file} holds a token of ${token.length} characters; use at least ${minChars}, e.g. openssl rand -hex 32 > ${file}`,
    );
  }
  return token;
}
