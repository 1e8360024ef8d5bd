/**
 * The framed echo protocol every TCP model speaks: a 4-byte big-endian payload length, then the payload.
 * The server returns each frame byte for byte after running the handler work once per frame.
 */
export const HEADER_BYTES = 4;
/** Frames above this are a protocol error (the client asked for something no test needs). */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** The largest UDP payload over IPv4. */
export const UDP_MAX_PAYLOAD = 65_507;
/** UDP datagrams carry a flow id (u32) and a sequence number (u32), so they are at least this long. */
export const UDP_TAG_BYTES = 8;

/** The line a server prints on stdout once it can serve; the orchestrator and tests wait for it. */
export const READY_PREFIX = 'CONBENCH_READY ';

export interface ReadyInfo {
  model: string;
  protocol: Protocol;
  host: string;
  port: number;
  pid: number;
  /** Workers, children or threads that serve (1 for single-threaded models). */
  workers: number;
  work: string;
  /** Extra facts a model wants recorded (scheduling policy, caps…). */
  details?: Record<string, string | number | boolean>;
}

export type Protocol = 'tcp' | 'http' | 'udp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'http', 'udp'];

export function formatReadyLine(info: ReadyInfo): string {
  return READY_PREFIX + JSON.stringify(info);
}

export function parseReadyLine(line: string): ReadyInfo | undefined {
  if (!line.startsWith(READY_PREFIX)) return undefined;
  return JSON.parse(line.slice(READY_PREFIX.length)) as ReadyInfo;
}

export function writeHeader(target: Buffer, offset: number, payloadBytes: number): void {
  target.writeUInt32BE(payloadBytes, offset);
}
