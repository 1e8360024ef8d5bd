/** The human-readable report of one load run (the CLIs' output without --json). Pure. */
import Table from 'cli-table3';
import { totalErrors, type LoadResult } from './load-result.js';
import { errorSummary } from './exit-status.js';
import { formatBytes, formatLatency, formatMicros, formatPercent, formatRate } from '../lib/format/units.js';

export function printResult(target: string, result: LoadResult): string {
  const unit = result.latencyResolution === 'ms' ? 'µs (ms res.)' : 'µs';
  const plain = !process.stdout.isTTY; // no colour codes in pipes and files
  const table = new Table({
    head: [
      'conn',
      'msgs/s',
      'bytes/s',
      `p50 ${unit}`,
      `p90 ${unit}`,
      `p99 ${unit}`,
      `p99.9 ${unit}`,
      `max ${unit}`,
      'client CPU',
      'errors',
    ],
    ...(plain ? { style: { head: [], border: [] } } : {}),
  });
  const e = result.errors;
  table.push([
    result.connections ? `${result.connections.served}/${result.connections.total}` : '–',
    formatRate(result.msgsPerSec),
    `${formatBytes(result.bytesPerSec)}/s`,
    formatMicros(result.latency.p50),
    formatMicros(result.latency.p90),
    formatMicros(result.latency.p99),
    formatMicros(result.latency.p999),
    formatMicros(result.latency.max),
    formatPercent(result.client.cpuPercent) + (result.client.saturated ? ' ⚠' : ''),
    totalErrors(e) === 0 ? '0' : errorSummary(e),
  ]);
  const lines = [
    `${target} (${result.driver}): ${result.messages} verified echoes in ${result.seconds.toFixed(2)} s`,
    table.toString(),
  ];
  if (result.client.saturated)
    lines.push(`⚠ ${result.client.reason}: the client may be the bottleneck, not the server`);
  if (result.latencyUncorrected)
    lines.push(
      `open loop: latency from the intended send time; uncorrected p99 ${formatLatency(result.latencyUncorrected.p99)}`,
    );
  if (result.errors.lost + result.errors.duplicated + result.errors.reordered > 0) {
    lines.push(`datagrams: lost ${e.lost}, duplicated ${e.duplicated}, reordered ${e.reordered}`);
  }
  return lines.join('\n') + '\n';
}
