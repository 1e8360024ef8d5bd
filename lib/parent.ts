/**
 * Node has no PR_SET_PDEATHSIG: a process whose parent died (npm killed by `timeout`, a cancelled CI job, an
 * orchestrator killed with SIGKILL) notices by polling its parent pid, and then stops what it started instead of
 * running on as an orphan.
 */
export function watchParent(onOrphaned: () => void, intervalMs = 500): void {
  const parent = process.ppid;
  let told = false;
  setInterval(() => {
    if (!told && process.ppid !== parent) {
      told = true;
      onOrphaned();
    }
  }, intervalMs).unref();
}
