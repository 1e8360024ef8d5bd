/**
 * Closes connections that node:cluster's round-robin primary handed to a worker that died before taking them.
 *
 * Why they would hang forever: the primary accepts each connection and sends it to the next idle worker
 * (RoundRobinHandle.handoff → sendHelper), keeping its own copy open until the worker's acknowledgement arrives
 * ({ ack: seq, accepted }), and closing it then. A worker that dies between the handoff and the acknowledgement
 * (SIGKILL, a crash, or simply before the primary has noticed the previous death) never acknowledges; Node drops
 * the worker from the handle but keeps the unacknowledged connection referenced from its callback table and never
 * closes it. The client is then connected to nobody: no echo, no reset, until the primary exits (known upstream:
 * nodejs/node#21746, node-v0.x-archive#7006). Connections still queued when the last worker goes are closed by Node
 * itself, and later ones are refused: the primary stops listening until a replacement worker listens again.
 *
 * So the primary's side of every handoff is tracked here and closed when the worker disconnects or exits without
 * having acknowledged it: the client sees its connection reset, never a hang. This looks at the messages Node's cluster
 * sends over the worker's channel ({ cmd: 'NODE_CLUSTER', act: 'newconn', seq } with the handle, answered by
 * { cmd: 'NODE_CLUSTER', ack: seq }), which have kept that shape since Node 0.12; should they change, nothing is
 * tracked and the behaviour is Node's own again (test/reliability.test.ts would say so).
 */
import type { ChildProcess } from 'node:child_process';

interface Closable {
  close(): void;
}

function isHandoff(message: unknown): message is { seq: number } {
  const m = message as { cmd?: unknown; act?: unknown; seq?: unknown } | null;
  return (
    typeof m === 'object' && m !== null && m.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && typeof m.seq === 'number'
  );
}

function ackOf(message: unknown): number | undefined {
  const m = message as { cmd?: unknown; ack?: unknown } | null;
  return typeof m === 'object' && m !== null && m.cmd === 'NODE_CLUSTER' && typeof m.ack === 'number'
    ? m.ack
    : undefined;
}

function isClosable(handle: unknown): handle is Closable {
  return typeof handle === 'object' && handle !== null && typeof (handle as Closable).close === 'function';
}

/** Call on the primary with each worker's process, right after cluster.fork(). */
export function closeUnacknowledgedHandoffs(worker: ChildProcess): void {
  const pending = new Map<number, Closable>();
  const send = worker.send;
  worker.send = function (this: ChildProcess, message: unknown, handle?: unknown, ...rest: unknown[]): boolean {
    if (isHandoff(message) && isClosable(handle)) pending.set(message.seq, handle);
    return Reflect.apply(send, this, [message, handle, ...rest]) as boolean;
  } as ChildProcess['send'];
  // Node's own listener (attached at fork, so it runs first) closes an accepted connection or hands a refused one
  // to another worker, under a new seq; either way this seq is settled.
  worker.on('internalMessage', (message: unknown) => {
    const ack = ackOf(message);
    if (ack !== undefined) pending.delete(ack);
  });
  // 'exit' as well as 'disconnect': a worker that dies with a handle in flight never emits 'disconnect' (Node
  // postpones it until the handle is acknowledged, which can no longer happen).
  const closePending = (): void => {
    for (const handle of pending.values()) handle.close();
    pending.clear();
  };
  worker.once('disconnect', closePending);
  worker.once('exit', closePending);
}
