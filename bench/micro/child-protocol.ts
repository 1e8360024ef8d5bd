/** What the micro child (entries/child.ts) and the benchmark say to each other over IPC, besides the payloads. */
export type Role = 'ipc-echo' | 'handle-sink' | 'echo-server' | 'spin';

/** Asks a child for its own CPU time so far. */
export const CPU_QUERY = { type: 'cpu?' } as const;

export interface CpuAnswer {
  type: 'cpu';
  us: number;
}

export function isCpuQuery(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === CPU_QUERY.type;
}

export function isCpuAnswer(message: unknown): message is CpuAnswer {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'cpu';
}
