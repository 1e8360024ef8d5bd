/** The client's own resource use over a window: CPU % of one core and event-loop utilization. */
import { performance } from 'node:perf_hooks';
import type { ClientUsage } from './load-result.js';

/** A single-threaded client at or above this CPU % is treated as the bottleneck. */
export const CLIENT_SATURATION_CPU_PERCENT = 90;

export function measureClientUsage(): { finish(): ClientUsage } {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  return {
    finish(): ClientUsage {
      const wallMicros = (performance.now() - t0) * 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuPercent = wallMicros > 0 ? ((cpu.user + cpu.system) / wallMicros) * 100 : 0;
      const eventLoopUtilization = performance.eventLoopUtilization(elu0).utilization;
      const saturated = cpuPercent >= CLIENT_SATURATION_CPU_PERCENT;
      return {
        cpuPercent,
        eventLoopUtilization,
        saturated,
        ...(saturated ? { reason: `client CPU ${cpuPercent.toFixed(0)} % ≥ ${CLIENT_SATURATION_CPU_PERCENT} %` } : {}),
      };
    },
  };
}
