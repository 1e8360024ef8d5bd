/**
 * What the machine says about the settings, found before the first server starts: which drivers are here (a
 * default driver missing falls back, said once; a named one missing is an error), the cells the open-files limit
 * allows, CPUs this process may use, whether counting can run, the baseline and token files named, the memory cap.
 * Any of it wrong is a usage or setup error (exit 2) now, not after minutes of measuring.
 */
import { SetupError, UsageError } from '../../lib/cli-args.js';
import { formatCpuList } from '../../lib/cpu-list.js';
import { parseCpuList } from '../../lib/cpu-list.js';
import { DRIVERS, findDriver, resolveDefaultDriver } from '../../clients/drivers.js';
import { MODELS } from '../../servers/registry.js';
import { planCells, expandFamily, type Plan } from '../data/matrix.js';
import { FAMILIES, PROFILES, type Workload } from '../data/workloads.js';
import { readRecords } from '../data/records-file.js';
import type { RunRecord } from '../data/record.js';
import type { Settings } from '../data/settings.js';
import { hasCommand, openFilesLimit } from '../run/env.js';
import { countsUnavailable } from '../run/counts.js';
import { readTopology, type SplitOverrides } from '../run/pinning.js';
import { defaultMemoryCapBytes } from '../run/memory.js';
import { readTokenFile } from '../host/agent-protocol.js';
import type { AgentAddress } from '../host/remote-host.js';

/** What the preflight found: the plan, what the user should know about it, and the files and limits it read. */
export interface Preflight {
  plan: Plan;
  /** Things to say before the suite runs (a driver fallback…). */
  notes: string[];
  /** The saved suite --baseline names, read now so a bad one fails before anything runs. */
  baseline?: RunRecord[];
  agent?: AgentAddress;
  /** --server-cpus, --driver-cpus, --driver-threads, checked against the CPUs this process may use. */
  cpus: SplitOverrides;
  /** The memory guard's cap on a server's tree (PSS), bytes. */
  memoryCapBytes: number;
}

/**
 * The preferred driver of each workload (native for TCP) when it is present, else its fallback, said once; a driver
 * the user named must be present.
 */
export function resolveDrivers(
  workloads: readonly Workload[],
  driverNamed: boolean,
): { workloads: Workload[]; notes: string[] } {
  const notes = new Set<string>();
  const resolved = workloads.map((w) => {
    if (driverNamed) {
      const present = findDriver(w.driver)?.present();
      if (present && !present.ok) throw new UsageError(`--driver ${w.driver} is unavailable: ${present.reason}`);
      return w;
    }
    const r = resolveDefaultDriver(w.driver);
    if (r.fellBack) notes.add(r.fellBack);
    return r.driver === w.driver ? w : { ...w, driver: r.driver };
  });
  return { workloads: resolved, notes: [...notes] };
}

/** A CPU list this process may use, or a usage error naming the CPUs it may not. */
function allowedCpus(list: string, flag: string): string {
  const allowed = new Set(readTopology().cpus.map((c) => c.id));
  const outside = parseCpuList(list).filter((c) => !allowed.has(c));
  if (outside.length > 0)
    throw new UsageError(
      `--${flag} names CPU ${outside.join(',')}, not one this process may use (${formatCpuList([...allowed])})`,
    );
  return list;
}

export function preflight(settings: Settings): Preflight {
  const { workloads, notes } = resolveDrivers(settings.workloads, settings.driverNamed);
  const openFiles = openFilesLimit();
  const plan = planCells(workloads, settings.models, openFiles !== undefined ? { openFiles } : {});
  if (plan.cells.length === 0) {
    const reasons = [...new Set(plan.excluded.map((e) => e.reason))].join('; ');
    throw new UsageError(`nothing to run: every cell was excluded (${reasons})`);
  }
  if (settings.counts) {
    const why = countsUnavailable();
    if (why) throw new SetupError(`--counts is unavailable: ${why}`);
  }
  return {
    plan,
    notes,
    ...(settings.baseline !== undefined ? { baseline: readRecords(settings.baseline) } : {}),
    ...(settings.agent !== undefined
      ? {
          agent: {
            ...settings.agent,
            ...(settings.agentTokenFile !== undefined
              ? { token: readTokenFile(settings.agentTokenFile, 'agent-token-file') }
              : {}),
          },
        }
      : {}),
    cpus: {
      ...(settings.serverCpus !== undefined ? { serverCpus: allowedCpus(settings.serverCpus, 'server-cpus') } : {}),
      ...(settings.driverCpus !== undefined ? { driverCpus: allowedCpus(settings.driverCpus, 'driver-cpus') } : {}),
      ...(settings.driverThreads !== undefined ? { driverThreads: settings.driverThreads } : {}),
    },
    memoryCapBytes: settings.memoryCapMiB !== undefined ? settings.memoryCapMiB * 2 ** 20 : defaultMemoryCapBytes(),
  };
}

/** `npm run bench -- --list`: the models, workload families, profiles and drivers, and which tools are here. */
export function listEverything(): string {
  const lines = ['Models:'];
  for (const m of MODELS) {
    const a = m.available();
    const not = Object.entries(m.whyNot ?? {})
      .filter(([p]) => !m.protocols.includes(p as never))
      .map(([p, why]) => `not ${p}: ${why}`);
    lines.push(`  ${m.name.padEnd(20)} ${m.summary}${a.ok ? '' : ` [unavailable: ${a.reason}]`}`);
    lines.push(`  ${''.padEnd(20)} serves ${m.protocols.join(', ')}${not.length > 0 ? `; ${not.join('; ')}` : ''}`);
  }
  lines.push('', 'Workload families:');
  for (const f of FAMILIES) {
    const names = expandFamily(f).map((w) => w.name);
    lines.push(`  ${f.name.padEnd(20)} ${f.description}`, `  ${''.padEnd(20)} → ${names.join(', ')}`);
  }
  lines.push('', 'Profiles:');
  for (const p of PROFILES)
    lines.push(`  ${p.name.padEnd(20)} ${p.description} (${p.runs} runs × ${p.warmupSec}+${p.durationSec} s)`);
  lines.push('', 'Drivers:');
  for (const d of DRIVERS) {
    const a = d.present();
    lines.push(`  ${d.name.padEnd(20)} ${d.protocol}${a.ok ? '' : ` [missing: ${a.reason}]`}`);
  }
  lines.push('', 'Tools found:');
  for (const tool of ['taskset', 'cc', 'wrk', 'nginx'])
    lines.push(`  ${tool.padEnd(20)} ${hasCommand(tool) ? 'yes' : 'no'}`);
  return lines.join('\n');
}
