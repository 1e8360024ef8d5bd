/**
 * One round of a row's models (or of one cell of an --against session, its two sides) as a block: their servers are
 * all started (fresh processes, pinned to the same server CPUs), then take turns under load in short windows —
 * A B, B A, … — while the others wait idle, and each one's windows are summed into one run. The verdict compares two
 * models' runs of a block as a pair (bench/judge/verdict.ts), the gate the two sides' (bench/judge/compare.ts).
 * Idle, the servers cost nothing measurable: each model started idle on one CPU used ≤ 0.11 s of CPU in 10 s (the
 * tick), most 0.
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
import type { RunRecord, ServerUsage } from '../data/record.js';
import type { LoadResult } from '../../clients/load-result.js';
import { sumLoadResults, sumServerUsage } from './sum-windows.js';

/**
 * After its first window (which has the run's warmup), a server's later windows are preceded by this much load,
 * discarded: the driver's new connections reach steady state within it (connect, first answers).
 */
export const SETTLE_SEC = 0.05;

/** A server still working at more than this % of a CPU after its window is not yet quiet (see untilQuiet). */
const QUIET_PERCENT = 5;
/** How long one look at a server's CPU lasts, and the most a block waits for one to go quiet. */
const QUIET_LOOK_MS = 50;
const QUIET_MAX_MS = 5000;

/**
 * Waits until a server that just had its window is quiet: some models go on working after the driver has gone —
 * fork-per-connection starts a child for each connection still queued, the iterative server serves its backlog —
 * and on the shared server CPUs that work fell into the next model's window: with fork-per-connection and iterative
 * in a block, cluster-rr's cpu row read 2.6–5.8k msgs/s at 63–126 % CPU, against 7.3–7.6k at 161 % with event-loop
 * alone beside it. Returns the seconds waited (0 when it was already quiet).
 */
export async function untilQuiet(server: Pick<ServerHandle, 'startSampler'>): Promise<number> {
  const started = performance.now();
  for (;;) {
    const sampler = await server.startSampler();
    await new Promise((resolve) => setTimeout(resolve, QUIET_LOOK_MS));
    const usage = await sampler.finish();
    const waited = performance.now() - started;
    if (!usage || usage.cpuPercent < QUIET_PERCENT || waited >= QUIET_MAX_MS) return waited / 1000;
  }
}

/** How a run's measured time is split: windows a side, and each one's length. Pure. */
export function blockWindows(durationSec: number, alternateSec: number): { windows: number; windowSec: number } {
  const windows = alternateSec > 0 ? Math.max(1, Math.round(durationSec / alternateSec)) : 1;
  return { windows, windowSec: durationSec / windows };
}

/**
 * Which member measures in each window slot: cycles in which every member measures once, each cycle's order the
 * previous one reversed, and every second cycle starting one member further on: A B, B A, A B, … for two (each
 * pair's order alternating, so a drift over the block weighs on both alike); A B C, C B A, B C A, A C B, … for three
 * (each member as often early as late). Pure.
 */
export function turnOrder(windows: number, members = 2): number[] {
  const out: number[] = [];
  const all = Array.from({ length: members }, (_, i) => i);
  for (let cycle = 0; cycle < windows; cycle++) {
    const shift = members > 2 ? Math.floor(cycle / 2) % members : 0;
    const order = [...all.slice(shift), ...all.slice(0, shift)];
    out.push(...(cycle % 2 === 0 ? order : order.reverse()));
  }
  return out;
}

interface MemberState {
  subject: CellSubject;
  workload: Workload;
  run: number;
  base: ReturnType<typeof recordBase> & Pick<RunRecord, 'block'>;
  server?: ServerHandle;
  results: LoadResult[];
  usages: (ServerUsage | undefined)[];
  /** Why a window's CPU figure cannot be true (missedCpuReason), the first such. */
  missed?: string;
  /** Seconds it went on working after its windows, waited out before the next one (untilQuiet). */
  quietSec: number;
  /** This member failed: its record, its server stopped; the others go on. */
  failed?: RunRecord;
}

/**
 * Runs a block: `members` in the order the round gives (the first measures first), `runs` their repetition indices.
 * Returns one record per member, in the same order. A member that cannot run (unavailable, no driver) is left out:
 * skipped, while the others take their turns (a lone one runs as an ordinary run would).
 *
 * The two sides of an --against cell stand or fall together: a failure or a disturbance of either fails or sets
 * aside both (a block is only worth its pair). Models taking turns (every model of a row, or the leader and the
 * models still undecided against it) do not: a model that fails is stopped and the others go on, and a run set aside
 * is that model's alone (its windows saw the disturbance; the others' did not).
 */
export async function runBlock(
  members: readonly CellSubject[],
  cellWorkload: Workload,
  runs: readonly number[],
  ctx: CellContext,
  round: number,
  alternateSec: number,
): Promise<RunRecord[]> {
  const { windows, windowSec } = blockWindows(ctx.settings.durationSec, alternateSec);
  const settleSec = Math.min(ctx.settings.warmupSec, SETTLE_SEC);
  const sides = members.every((m) => m.side !== undefined);
  const ready = members.map((m) => preflight(m, m.load(cellWorkload)));
  const runnable = ready.flatMap((r, i) => ('driver' in r ? [i] : []));
  const skippedRecord = (i: number): RunRecord => ({
    ...recordBase(members[i]!, members[i]!.load(cellWorkload), runs[i]!, ctx, round),
    status: 'skipped',
    reason: (ready[i] as { skipped: string }).skipped,
  });
  if (runnable.length < 2) {
    return Promise.all(
      members.map((m, i) => (runnable.includes(i) ? runCell(m, cellWorkload, runs[i]!, ctx, round) : skippedRecord(i))),
    );
  }
  const names = runnable.map((i) => members[i]!.name);
  const block = (): NonNullable<RunRecord['block']> => ({
    windows,
    windowSec,
    settleSec,
    ...(sides ? { first: members[runnable[0]!]!.side! } : { members: names }),
  });
  const states: MemberState[] = runnable.map((i) => {
    const subject = members[i]!;
    const workload = subject.load(cellWorkload);
    return {
      subject,
      workload,
      run: runs[i]!,
      base: { ...recordBase(subject, workload, runs[i]!, ctx, round), block: block() },
      results: [],
      usages: [],
      quietSec: 0,
    };
  });
  const drivers = runnable.map((i) => (ready[i] as { driver: Parameters<typeof measureWindowOf>[3] }).driver);
  const workers = ctx.settings.workers ?? ctx.split.serverCpuCount;
  const fail = async (s: MemberState, error: unknown): Promise<void> => {
    s.failed = failedRecord(s.base, error, ctx, s.server?.died?.());
    await s.server?.stop(ctx.signal?.aborted ? 500 : 2000);
    s.server = undefined;
  };
  try {
    if (sides) {
      for (const s of states) {
        throwIfAborted(ctx.signal);
        s.server = await s.subject.start(s.workload, workers, ctx);
      }
    } else {
      // Started together: they take turns from the first window on, and one that cannot start is left out.
      await Promise.all(
        states.map(async (s) => {
          try {
            s.server = await s.subject.start(s.workload, workers, ctx);
          } catch (error) {
            await fail(s, error);
          }
        }),
      );
      throwIfAborted(ctx.signal);
    }
    for (const i of turnOrder(windows, states.length)) {
      throwIfAborted(ctx.signal);
      const s = states[i]!;
      if (s.failed) continue;
      const warmupSec = s.results.length === 0 ? ctx.settings.warmupSec : settleSec;
      try {
        const { result, usage } = await measureWindowOf(s.subject, s.workload, s.server!, drivers[i]!, ctx, {
          warmupSec,
          durationSec: windowSec,
        });
        s.results.push(result);
        s.usages.push(usage);
        s.missed ??= missedCpuReason(s.workload.work, result, usage);
        s.quietSec += await untilQuiet(s.server!);
      } catch (error) {
        if (sides || ctx.signal?.aborted) throw error;
        await fail(s, error);
      }
    }
    const measured = states.filter((s) => !s.failed);
    const stopped = await Promise.all(measured.map((s) => s.server!.stop(ctx.settings.stopTimeoutSec * 1000)));
    const records = new Map<MemberState, RunRecord>();
    for (const [k, s] of measured.entries()) {
      const usages = s.usages.every((u): u is ServerUsage => u !== undefined)
        ? sumServerUsage(
            s.usages as ServerUsage[],
            s.results.map((r) => r.seconds),
          )
        : undefined;
      const record: RunRecord = {
        ...s.base,
        block: {
          ...s.base.block!,
          rates: s.results.map((r) => r.msgsPerSec),
          ...(s.quietSec >= 0.1 ? { busyAfterSec: +s.quietSec.toFixed(2) } : {}),
        },
        status: 'ok',
        server: { ...serverInfo(s.server!, ctx), ...(usages ? { usage: usages } : {}) },
        ...(ctx.split.client !== undefined ? { clientCpus: ctx.split.client } : {}),
        result: sumLoadResults(s.results),
      };
      if (stopped[k]!.forced)
        Object.assign(record, { reason: 'server did not stop on SIGTERM and was killed', stopForced: true });
      s.server = undefined;
      const why = s.missed ?? setAsideReason(usages, ctx.settings);
      if (why) (record as RunRecord & { status: 'ok' }).discarded = why;
      records.set(s, record);
    }
    // The sides of an --against block: either disturbed, both set aside (their windows interleaved, the disturbance
    // fell on both).
    if (sides) {
      const why = [...records.values()].map((r) => (r.status === 'ok' ? r.discarded : undefined)).find(Boolean);
      if (why) for (const r of records.values()) if (r.status === 'ok') r.discarded = why;
    }
    const byMember = new Map(runnable.map((m, k) => [m, states[k]!]));
    return members.map((_, i) => {
      const s = byMember.get(i);
      return s ? (s.failed ?? records.get(s)!) : skippedRecord(i);
    });
  } catch (error) {
    const died = states.map((s) => s.server?.died?.()).find((d) => d !== undefined);
    const byMember = new Map(runnable.map((m, k) => [m, states[k]!]));
    return members.map((_, i) => {
      const s = byMember.get(i);
      return s ? (s.failed ?? failedRecord(s.base, error, ctx, sides ? died : s.server?.died?.())) : skippedRecord(i);
    });
  } finally {
    await Promise.all(states.map((s) => s.server?.stop(ctx.signal?.aborted ? 500 : 2000)));
  }
}
