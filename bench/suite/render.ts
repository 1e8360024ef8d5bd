/**
 * The one render pipeline, used by `npm run bench` when a suite ends and by `npm run report` on saved records: the
 * suite is judged once (judge/judgement.ts) and every file and the printed text are renderers of that judgement.
 * Everything it needs is in the records and the suite's parameters, so both commands print and write the same thing.
 */
import path from 'node:path';
import type { RunRecord } from '../data/record.js';
import { microRoot, readMicroRecords } from '../data/micro-record.js';
import { judgeSuite, type JudgeParams, type SuiteJudgement } from '../judge/judgement.js';
import { terminalReport } from '../format/terminal.js';
import { writeCharts, writeReports, type ReportSink } from './report-files.js';

export type { ReportSink };

export interface RenderOptions extends Omit<JudgeParams, 'micro'> {
  /** No colour codes (files, pipes). */
  plain: boolean;
  /** The terminal's width (undefined: not a terminal, nothing wrapped); --wide: every column. */
  width?: number;
  wide?: boolean;
  /** Draw the SVG charts (an interrupted suite leaves them to `npm run report`). */
  charts: boolean;
  /** The results root, where the cost model's micro run is (<root>/micro/LATEST). */
  resultsRoot: string;
}

/** The newest micro run under a results root, read once, or why there is none. */
export function microRunOf(resultsRoot: string): JudgeParams['micro'] {
  const root = microRoot(resultsRoot);
  try {
    const records = readMicroRecords(root);
    return { records, from: records[0] ? path.join(root, records[0].runId) : root };
  } catch (error) {
    return {
      missing: (error as Error).message.startsWith('no results')
        ? `no micro-benchmark records in ${root}`
        : (error as Error).message,
    };
  }
}

/** Judges a suite, writes its report files, and returns what to print. */
export async function renderSuite(
  sink: ReportSink,
  records: readonly RunRecord[],
  o: RenderOptions,
): Promise<{ judgement: SuiteJudgement; text: string; charts: number; chartError?: string }> {
  const { plain, width, wide, charts: drawCharts, resultsRoot, ...params } = o;
  const judgement = judgeSuite(records, { ...params, micro: microRunOf(resultsRoot) });
  writeReports(sink, judgement);
  let chartError: string | undefined;
  // Charts draw timed runs; a counted-only suite has none (empty scales would be drawn as infinities).
  const timed = judgement.cells.some((c) => c.okRuns > 0);
  const charts =
    drawCharts && timed
      ? await writeCharts(sink, judgement).catch((error: Error) => {
          chartError = error.message;
          return 0;
        })
      : 0;
  return {
    judgement,
    text: terminalReport(judgement, { plain, wide: wide === true, ...(width !== undefined ? { width } : {}) }),
    charts,
    ...(chartError ? { chartError } : {}),
  };
}
