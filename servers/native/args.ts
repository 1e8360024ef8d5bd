/** The native server's command line: the same flags as serve, spelled the way epoll-echo.c parses them. */
export function nativeArgs(o: { model: string; host: string; port: number; work: string }): string[] {
  return ['--model', o.model, '--host', o.host, '--port', String(o.port), '--work', o.work];
}

/**
 * The environment the native server needs from whoever spawns it: the spawner's pid, so the server can tell that
 * its parent died before it could ask to be stopped on that death (see stop_with_parent in epoll-echo.c).
 */
export function nativeEnv(): NodeJS.ProcessEnv {
  return { CONBENCH_PARENT_PID: String(process.pid) };
}
