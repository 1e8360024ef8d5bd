/** The one list of micro-benchmark primitives, in the order the table prints them. */
import type { Primitive } from './primitive.js';
import { THREAD_PRIMITIVES } from './threads.js';
import { PROCESS_PRIMITIVES } from './processes.js';
import { SOCKET_PRIMITIVES } from './sockets.js';
import { MANY_PROCESS_PRIMITIVES } from './many-processes.js';
import { CPU_PRIMITIVES } from './cpu-loop.js';

export const PRIMITIVES: readonly Primitive[] = [
  ...THREAD_PRIMITIVES,
  ...PROCESS_PRIMITIVES,
  ...SOCKET_PRIMITIVES,
  ...MANY_PROCESS_PRIMITIVES,
  ...CPU_PRIMITIVES,
];
