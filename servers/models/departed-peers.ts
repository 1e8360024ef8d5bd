/**
 * Which of the connections waiting in a queue have been left by their client. A queued socket is paused
 * (pauseOnConnect) so its bytes stay in the kernel for whoever serves it; nothing reads it, so Node never sees the
 * peer's FIN or RST. The kernel's own table of TCP sockets does (Linux: /proc/net/tcp and /proc/net/tcp6, read
 * without touching the sockets). A queued socket is found there by its inode (fstat of its fd), and:
 *
 * - not listed at all: it was reset (a reset socket leaves the table while its fd stays open) — the client is gone;
 * - CLOSE_WAIT (the peer sent FIN) with nothing unread: serving it would echo nothing and close it, so closing it
 *   now is the same to the client, whether it left or only shut down its sending side;
 * - CLOSE_WAIT with bytes unread, and the peer's end, on this host (listed with the addresses swapped), no longer
 *   belongs to any process (inode 0): the client closed its socket, not just its sending side, so no echo can
 *   reach it.
 *
 * Anything else keeps its place: a half-closed client that sent its frames and waits for the echo, an open one, and
 * a peer on another host whose end we cannot see. Without /proc (not Linux) nothing is ever reported departed.
 */
import { fstatSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

const TCP_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
const CLOSE_WAIT = 0x08;

export interface TcpTableRow {
  local: string;
  remote: string;
  state: number;
  /** Bytes received and not yet read; in CLOSE_WAIT the peer's FIN counts as one. */
  rxQueue: number;
  /** 0 when no process holds the socket any more. */
  inode: number;
}

/** Parses /proc/net/tcp{,6} text (a header line, then one socket a line). Pure. */
export function parseTcpTable(text: string): TcpTableRow[] {
  const rows: TcpTableRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const rx = f[4]!.split(':')[1];
    rows.push({
      local: f[1]!,
      remote: f[2]!,
      state: parseInt(f[3]!, 16),
      rxQueue: parseInt(rx ?? '0', 16),
      inode: Number(f[9]),
    });
  }
  return rows;
}

/** Given the kernel's rows, whether the client of our socket (whose inode is `inode`) has left. Pure. */
export function peerDeparted(
  inode: number,
  byInode: ReadonlyMap<number, TcpTableRow>,
  byAddresses: ReadonlyMap<string, TcpTableRow>,
): boolean {
  const mine = byInode.get(inode);
  if (!mine) return true;
  if (mine.state !== CLOSE_WAIT) return false;
  if (mine.rxQueue <= 1) return true;
  const peer = byAddresses.get(`${mine.remote}|${mine.local}`);
  return peer !== undefined && peer.inode === 0;
}

export function readTcpTables(): TcpTableRow[] | undefined {
  try {
    return TCP_TABLES.flatMap((file) => parseTcpTable(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

const inodes = new WeakMap<Socket, number>();

/** The socket's inode, or undefined when it has no fd (already closed or handed away). */
function inodeOf(socket: Socket): number | undefined {
  const cached = inodes.get(socket);
  if (cached !== undefined) return cached;
  // Node exposes the fd of a TCP socket's handle on Unix; it is -1 (or absent) once the handle is gone.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  try {
    const inode = fstatSync(fd).ino;
    inodes.set(socket, inode);
    return inode;
  } catch {
    return undefined;
  }
}

/** The sockets among `queued` whose client has left (see the top of this file). */
export function departedPeers(queued: readonly Socket[], rows: TcpTableRow[] | undefined = readTcpTables()): Socket[] {
  if (rows === undefined || queued.length === 0) return [];
  const byInode = new Map<number, TcpTableRow>();
  const byAddresses = new Map<string, TcpTableRow>();
  for (const row of rows) {
    if (row.inode !== 0) byInode.set(row.inode, row);
    byAddresses.set(`${row.local}|${row.remote}`, row);
  }
  return queued.filter((socket) => {
    const inode = inodeOf(socket);
    return inode !== undefined && peerDeparted(inode, byInode, byAddresses);
  });
}
