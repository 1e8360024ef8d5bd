/**
 * The calibrated `cpu:<µs>` loop itself, at the amount the cpu workload asks for: calibrated here exactly as the
 * bench calibrates it (servers/work.ts calibrateSpin), then timed. It records the calibrated rate at the start and
 * again at the end, so drift within a run and between runs (against the previous micro run) can be read off.
 * A second primitive times the same loop while every other CPU of the set runs it too (spinning children): what a
 * parallel model's workers see when they all do CPU work at once.
 */
import { FAMILIES } from '../data/workloads.js';
import { calibrateSpin, parseWorkSpec, spin } from '../../servers/work.js';
import { ownCpuUs } from './measure.js';
import { startMicroChild, type MicroChild } from './peer.js';
import type { Fixture, MicroContext, Primitive } from './primitive.js';

/** The cpu workload's µs per message (cpu:200 in the quick profile). */
export function cpuWorkloadMicros(): number {
  const work = FAMILIES.find((f) => f.name === 'cpu')?.axes.work;
  const spec = parseWorkSpec(typeof work === 'string' ? work : 'cpu:200');
  return spec.kind === 'cpu' ? spec.amount : 200;
}

/** A spinning child yields this often, so it still hears its parent leave. */
const SPIN_SLICE_US = 5_000;

function cpuLoop(everyCpu: boolean): Primitive {
  const micros = cpuWorkloadMicros();
  return {
    id: everyCpu ? 'cpu-loop-all-cpus' : 'cpu-loop',
    title: everyCpu ? `cpu:${micros} loop, every CPU busy` : `cpu:${micros} loop (calibrated)`,
    op: everyCpu
      ? `the calibrated ${micros} µs spin while a spinning child keeps each other CPU of the set busy`
      : `the calibrated ${micros} µs spin of the cpu: handler work`,
    unavailable: (ctx: MicroContext) =>
      everyCpu && ctx.cpuCount < 2 ? 'needs a CPU set of at least 2 CPUs' : undefined,
    async setup(ctx: MicroContext): Promise<Fixture> {
      const rateAtStart = calibrateSpin();
      const iterations = Math.max(1, Math.round(micros * rateAtStart));
      const burners: MicroChild[] = [];
      const close = async (): Promise<void> => {
        await Promise.all(burners.map((b) => b.close()));
      };
      try {
        if (everyCpu) {
          const slice = String(Math.round(SPIN_SLICE_US * rateAtStart));
          for (let i = 1; i < ctx.cpuCount; i++) burners.push(await startMicroChild('spin', [slice]));
        }
      } catch (error) {
        await close();
        throw error;
      }
      return {
        fn: () => spin(iterations),
        async: false,
        cpu: async () => ({ process: ownCpuUs() }),
        details: () => ({
          targetUs: micros,
          iterations,
          iterationsPerUs: rateAtStart,
          iterationsPerUsAtEnd: calibrateSpin(),
          ...(everyCpu ? { spinningChildren: burners.length } : {}),
        }),
        close,
      };
    },
  };
}

export const CPU_PRIMITIVES: readonly Primitive[] = [cpuLoop(false), cpuLoop(true)];
