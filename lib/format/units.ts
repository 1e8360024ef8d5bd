/** Pure number formatting shared by every table and report. */

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '–';
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)}M`;
  if (perSec >= 1e4) return `${(perSec / 1e3).toFixed(1)}k`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(2)}k`;
  return perSec.toFixed(perSec >= 100 ? 0 : 1);
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function formatMicros(us: number): string {
  if (!Number.isFinite(us)) return '–';
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)}s`;
  if (us >= 1e4) return `${(us / 1e3).toFixed(1)}ms`;
  return `${Math.round(us)}`;
}

/** A latency with its unit, for prose and mixed columns rather than a µs column: "77 µs", "188.0 ms", "1.99 s". */
export function formatLatency(us: number): string {
  const text = formatMicros(us);
  return /\d$/.test(text) ? `${text} µs` : text.replace(/(ms|s)$/, ' $1');
}

export function formatPercent(p: number, digits = 0): string {
  return Number.isFinite(p) ? `${p.toFixed(digits)}%` : '–';
}

/** 64, 4096 → "64 B", "4 KiB" for payload sizes. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** "64", "4k", "64KiB", "1MiB", "1m" → bytes. Returns undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  return unit.startsWith('k') ? n * 1024 : unit.startsWith('m') ? n * 1024 * 1024 : n;
}
