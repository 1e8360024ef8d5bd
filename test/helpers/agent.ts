/** Starts `npm run agent`'s entry as a child process and waits for the line saying where it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { compiled } from '../../lib/paths.js';
import { AGENT_LISTENING_PREFIX } from '../../bench/host/agent-protocol.js';

export interface AgentProcess {
  child: ChildProcess;
  port: number;
  stderr(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export function tokenFile(token = randomBytes(24).toString('hex')): { file: string; token: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-agent-'));
  const file = path.join(dir, 'token');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return { file, token };
}

/** `prefix` runs the agent through another command, e.g. ['ip', 'netns', 'exec', NS]. */
export function startAgentProcess(
  host: string,
  tokenPath: string,
  prefix: readonly string[] = [],
): Promise<AgentProcess> {
  const argv = [
    ...prefix,
    process.execPath,
    compiled('scripts/agent.ts'),
    '--host',
    host,
    '--port',
    '0',
    '--token-file',
    tokenPath,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`agent did not start listening within 15 s: ${stderr}`));
    }, 15_000);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`agent exited before listening: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(AGENT_LISTENING_PREFIX)) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line.slice(AGENT_LISTENING_PREFIX.length)) as { port: number };
      resolve({ child, port, stderr: () => stderr, stop });
    });
  });
}
