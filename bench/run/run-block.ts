/**
 * One round of one cell of an --against session, as a block: the base's server and the head's are both started
 * (fresh processes, pinned to the same server CPUs), then take turns under load in short windows — A B B A A B … —
 * while the other waits idle, and each side's windows are summed into one run. The gate then compares the two runs
 * of a block as a pair (bench/judge/compare.ts).
 *
 * Why: on this shared VM the same server's CPU µs/msg moves 8–15 % from one half-second to the next, and most of that
 * movement is the machine's, not the server's — the host, a neighbour, the CPU's clock. Two servers measured in
 * windows a quarter of a second apart see nearly the same machine, so the ratio of their figures keeps little of it:
 * event-loop's echo, the same code on both sides, 0.2 s windows: ratio spread 5.2 % a window pair, 1.2 % a block of
 * ten pairs, against 10.6 % for servers restarted each window (docs/gate.md). Fresh servers for every block keep
 * what differs between processes (layout, JIT) in the comparison's noise, where it belongs.
 */
import {
  failedRecord,
  measureWindowOf,
  missedCpuReason,
  preflight,
  recordBase,
  runCell,
  serverInfo,
  setAsideReason,
  throwIfAborted,
  type CellContext,
  type CellSubject,
} from './run-cell.js';
import type { ServerHandle } from './server-host.js';
import type { Workload } from '../data/workloads.js';
import type { RunRecord, ServerUsage, Side } from '../data/record.js';
import type { LoadResult } from '../../clients/load-result.js';
import { sumLoadResults, sumServerUsage } from './sum-windows.js';

/**
 * After its first window (which has the run's warmup), a server's later windows are preceded by this much load,
 * discarded: the driver's new connections reach steady state within it (connect, first answers).
 */
export const SETTLE_SEC = 0.05;

/** How a run's measured time is split: windows a side, and each one's length. Pure. */
export function blockWindows(durationSec: number, alternateSec: number): { windows: number; windowSec: number } {
  const windows = alternateSec > 0 ? Math.max(1, Math.round(durationSec / alternateSec)) : 1;
  return { windows, windowSec: durationSec / windows };
}

/** Which side measures in each window slot: A B, B A, A B, … (each pair's order alternating, so a drift over the
 * block weighs on both sides alike). Pure. */
export function turnOrder(windows: number): (0 | 1)[] {
  const out: (0 | 1)[] = [];
  for (let i = 0; i < windows; i++) out.push(...(i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)));
  return out;
}

interface SideState {
  subject: CellSubject;
  workload: Workload;
  base: ReturnType<typeof recordBase> & Pick<RunRecord, 'block'>;
  server?: ServerHandle;
  results: LoadResult[];
  usages: (ServerUsage | undefined)[];
  /** Why a window's CPU figure cannot be true (missedCpuReason), the first such. */
  missed?: string;
}

/**
 * Runs a block: `pair` in the order the round gives (the first measures first), `runs` their repetition indices.
 * Returns one record per side, in the same order. A side that cannot run (unavailable, no driver) is skipped and
 * the other runs alone as an ordinary run would; a failure of either side fails both (a block is only worth its pair).
 */
export async function runBlock(
  pair: readonly [CellSubject, CellSubject],
  cellWorkload: Workload,
  runs: readonly [number, number],
  ctx: CellContext,
  round: number,
  alternateSec: number,
): Promise<[RunRecord, RunRecord]> {
  const { windows, windowSec } = blockWindows(ctx.settings.durationSec, alternateSec);
  const settleSec = Math.min(ctx.settings.warmupSec, SETTLE_SEC);
  const first: Side = pair[0].side ?? 'base';
  const side = (i: 0 | 1): SideState => {
    const subject = pair[i];
    const workload = subject.load(cellWorkload);
    return {
      subject,
      workload,
      base: { ...recordBase(subject, workload, runs[i], ctx, round), block: { windows, windowSec, settleSec, first } },
      results: [],
      usages: [],
    };
  };
  const sides: [SideState, SideState] = [side(0), side(1)];
  const ready = sides.map((s) => preflight(s.subject, s.workload));
  const skipped = ready.map((r) => ('skipped' in r ? r.skipped : undefined));
  if (skipped[0] !== undefined || skipped[1] !== undefined) {
    return (await Promise.all(
      sides.map((s, i) =>
        skipped[i] !== undefined
          ? ({
              ...recordBase(s.subject, s.workload, runs[i]!, ctx, round),
              status: 'skipped',
              reason: skipped[i]!,
            } as RunRecord)
          : runCell(s.subject, cellWorkload, runs[i]!, ctx, round),
      ),
    )) as [RunRecord, RunRecord];
  }
  const drivers = ready.map((r) => ('driver' in r ? r.driver : undefined));
  const workers = ctx.settings.workers ?? ctx.split.serverCpuCount;
  try {
    for (const s of sides) {
      throwIfAborted(ctx.signal);
      s.server = await s.subject.start(s.workload, workers, ctx);
    }
    for (const i of turnOrder(windows)) {
      throwIfAborted(ctx.signal);
      const s = sides[i]!;
      const warmupSec = s.results.length === 0 ? ctx.settings.warmupSec : settleSec;
      const { result, usage } = await measureWindowOf(s.subject, s.workload, s.server!, drivers[i]!, ctx, {
        warmupSec,
        durationSec: windowSec,
      });
      s.results.push(result);
      s.usages.push(usage);
      s.missed ??= missedCpuReason(s.workload.work, result, usage);
    }
    const stopped = await Promise.all(sides.map((s) => s.server!.stop(ctx.settings.stopTimeoutSec * 1000)));
    const records = sides.map((s, i) => {
      const usages = s.usages.every((u): u is ServerUsage => u !== undefined)
        ? sumServerUsage(
            s.usages as ServerUsage[],
            s.results.map((r) => r.seconds),
          )
        : undefined;
      const record: RunRecord = {
        ...s.base,
        status: 'ok',
        server: { ...serverInfo(s.server!, ctx), ...(usages ? { usage: usages } : {}) },
        ...(ctx.split.client !== undefined ? { clientCpus: ctx.split.client } : {}),
        result: sumLoadResults(s.results),
      };
      if (stopped[i]!.forced)
        Object.assign(record, { reason: 'server did not stop on SIGTERM and was killed', stopForced: true });
      return record;
    }) as [RunRecord & { status: 'ok' }, RunRecord & { status: 'ok' }];
    for (const s of sides) s.server = undefined;
    // Either side disturbed: the block is set aside whole (its windows interleaved, the disturbance fell on both).
    // So is a block where a window's CPU time was not all seen.
    const why =
      sides.map((s) => s.missed).find((w) => w !== undefined) ??
      records.map((r) => setAsideReason(r.server.usage, ctx.settings)).find((w) => w !== undefined);
    if (why) for (const r of records) r.discarded = why;
    return records;
  } catch (error) {
    const died = sides.map((s) => s.server?.died?.()).find((d) => d !== undefined);
    return sides.map((s) => failedRecord(s.base, error, ctx, died)) as [RunRecord, RunRecord];
  } finally {
    await Promise.all(sides.map((s) => s.server?.stop(ctx.signal?.aborted ? 500 : 2000)));
  }
}
