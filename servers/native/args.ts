/** The native server's command line: the same flags as serve, spelled the way epoll-echo.c parses them. */
export function nativeArgs(o: { model: string; host: string; port: number; work: string }): string[] {
  return ['--model', o.model, '--host', o.host, '--port', String(o.port), '--work', o.work];
}
