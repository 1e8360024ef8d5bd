/**
 * A stderr line at most once per interval, however often the event happens: a peer flooding bad frames must not
 * flood the log (or slow the server with writes). Lines dropped in between are counted on the next one.
 */
export function rateLimitedLog(
  intervalMs: number,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  now: () => number = Date.now,
): (line: string) => void {
  let last = -Infinity;
  let dropped = 0;
  return (line) => {
    const t = now();
    if (t - last < intervalMs) {
      dropped++;
      return;
    }
    last = t;
    write(dropped > 0 ? `${line} (${dropped} more like it not logged)` : line);
    dropped = 0;
  };
}
