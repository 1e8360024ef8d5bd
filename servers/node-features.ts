/** Runtime features some models depend on, detected from the Node version running them. */

/** SO_REUSEPORT for net listen() and dgram: Node ≥ 22.12 (and 23.1+) on Linux. */
export function reusePortSupported(
  versions: NodeJS.ProcessVersions = process.versions,
  platform = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const [major = 0, minor = 0] = versions.node.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export const WORKER_THREADS_UDP_UNSUPPORTED = `threads cannot share one UDP socket before Node 22.12 (no reusePort for dgram); this is Node ${process.versions.node}`;
