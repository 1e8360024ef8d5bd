/**
 * One CSV row per run record: who and when, every workload axis (bench/data/axes.ts), every metric's per-run value
 * (bench/data/metrics.ts), then the raw figures behind them and the machine. Columns come from those tables, so a new
 * axis or metric is a new column without an edit here. Pure.
 */
import { AXIS_KEYS } from '../data/axes.js';
import { METRICS, METRIC_IDS } from '../data/metrics.js';
import type { RunRecord } from '../data/record.js';
import type { ErrorCounts } from '../../clients/load-result.js';

const ERROR_KEYS: readonly (keyof ErrorCounts)[] = [
  'mismatches',
  'errors',
  'resets',
  'timeouts',
  'connectFailures',
  'non2xx',
  'lost',
  'duplicated',
  'reordered',
];

type Column = { name: string; value(r: RunRecord): unknown };

const ok = <T>(r: RunRecord, f: (r: Extract<RunRecord, { status: 'ok' }>) => T): T | undefined =>
  r.status === 'ok' ? f(r) : undefined;

const COLUMNS: readonly Column[] = [
  ...(['suiteId', 'time', 'workload', 'model', 'run', 'status', 'reason'] as const).map((k) => ({
    name: k,
    value: (r: RunRecord) => r[k],
  })),
  { name: 'side', value: (r) => r.side },
  ...AXIS_KEYS.map((k) => ({ name: k, value: (r: RunRecord) => r.params[k] })),
  { name: 'discarded', value: (r) => ok(r, (o) => o.discarded) },
  { name: 'workers', value: (r) => ok(r, (o) => o.server.workers) },
  { name: 'serverCpus', value: (r) => ok(r, (o) => o.server.cpus) },
  { name: 'clientCpus', value: (r) => ok(r, (o) => o.clientCpus) },
  ...METRIC_IDS.map((id) => ({ name: METRICS[id].csv, value: (r: RunRecord) => ok(r, (o) => METRICS[id].ofRun(o)) })),
  { name: 'bytesPerSec', value: (r) => ok(r, (o) => o.result.bytesPerSec) },
  ...(['p50', 'p90', 'p999', 'max'] as const).map((k) => ({
    name: `${k === 'max' ? 'maxUs' : `${k}us`}`,
    value: (r: RunRecord) => ok(r, (o) => o.result.latency[k]),
  })),
  { name: 'serverCpuPercent', value: (r) => ok(r, (o) => o.server.usage?.cpuPercent) },
  { name: 'serverCpuClock', value: (r) => ok(r, (o) => o.server.usage?.cpuClock) },
  { name: 'serverRssBytes', value: (r) => ok(r, (o) => o.server.usage?.rssPeakBytes) },
  { name: 'serverPssBytes', value: (r) => ok(r, (o) => o.server.usage?.pssBytes) },
  { name: 'hostStealPercent', value: (r) => ok(r, (o) => o.server.usage?.hostStealPercent) },
  { name: 'clientCpuPercent', value: (r) => ok(r, (o) => o.result.client.cpuPercent) },
  { name: 'clientSaturated', value: (r) => ok(r, (o) => o.result.client.saturated) },
  ...ERROR_KEYS.map((k) => ({ name: k, value: (r: RunRecord) => ok(r, (o) => o.result.errors[k]) })),
  ...(['node', 'gitCommit', 'cpuModel', 'cores'] as const).map((k) => ({ name: k, value: (r: RunRecord) => r.env[k] })),
];

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text =
    typeof value === 'number'
      ? Number.isInteger(value)
        ? String(value)
        : String(Number(value.toPrecision(6)))
      : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function recordsToCsv(records: readonly RunRecord[]): string {
  return (
    [COLUMNS.map((c) => c.name).join(','), ...records.map((r) => COLUMNS.map((c) => cell(c.value(r))).join(','))].join(
      '\n',
    ) + '\n'
  );
}
