/** One CSV row per run record: every parameter and figure, for spreadsheets and plotting tools. Pure. */
import type { RunRecord } from '../record.js';

const COLUMNS = [
  'suiteId', 'time', 'protocol', 'workload', 'model', 'run', 'status', 'reason',
  'connections', 'inFlight', 'payloadBytes', 'work', 'pattern', 'rate', 'pin', 'driver',
  'workers', 'serverCpus', 'clientCpus',
  'msgsPerSec', 'bytesPerSec', 'p50us', 'p90us', 'p99us', 'p999us', 'maxUs',
  'serverCpuPercent', 'serverRssBytes', 'hostStealPercent', 'clientCpuPercent', 'clientSaturated',
  'mismatches', 'errors', 'resets', 'timeouts', 'connectFailures', 'non2xx', 'lost', 'duplicated', 'reordered',
  'node', 'gitCommit', 'cpuModel', 'cores',
] as const;

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function recordsToCsv(records: readonly RunRecord[]): string {
  const rows = records.map((r) => {
    const res = r.result;
    const e = res?.errors;
    const values: Record<(typeof COLUMNS)[number], unknown> = {
      suiteId: r.suiteId, time: r.time, protocol: r.params.protocol, workload: r.workload, model: r.model, run: r.run,
      status: r.status, reason: r.reason,
      connections: r.params.connections, inFlight: r.params.inFlight, payloadBytes: r.params.payloadBytes, work: r.params.work,
      pattern: r.params.pattern, rate: r.params.rate, pin: r.params.pin, driver: r.params.driver,
      workers: r.server?.workers, serverCpus: r.server?.cpus, clientCpus: r.clientCpus,
      msgsPerSec: res?.msgsPerSec, bytesPerSec: res?.bytesPerSec,
      p50us: res?.latency.p50, p90us: res?.latency.p90, p99us: res?.latency.p99, p999us: res?.latency.p999, maxUs: res?.latency.max,
      serverCpuPercent: r.server?.usage?.cpuPercent, serverRssBytes: r.server?.usage?.rssPeakBytes, hostStealPercent: r.server?.usage?.hostStealPercent,
      clientCpuPercent: res?.client.cpuPercent, clientSaturated: res?.client.saturated,
      mismatches: e?.mismatches, errors: e?.errors, resets: e?.resets, timeouts: e?.timeouts, connectFailures: e?.connectFailures,
      non2xx: e?.non2xx, lost: e?.lost, duplicated: e?.duplicated, reordered: e?.reordered,
      node: r.env.node, gitCommit: r.env.gitCommit, cpuModel: r.env.cpuModel, cores: r.env.cores,
    };
    return COLUMNS.map((c) => cell(values[c])).join(',');
  });
  return [COLUMNS.join(','), ...rows].join('\n') + '\n';
}
