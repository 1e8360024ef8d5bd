/**
 * How a long-running command learns it must stop: SIGTERM, SIGINT, or its parent's death. `npm run …` may exit on a
 * signal without passing it on, so a process whose parent is gone stops by itself rather than running on as an
 * orphan with its children.
 */
export function onStopRequest(stop: (why: string) => void, pollMs = 500): void {
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop('its parent process exited');
  }, pollMs).unref();
}
