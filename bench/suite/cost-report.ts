/**
 * The cost model as the bench prints it: reads the newest saved micro run (<results>/micro/LATEST) and sets the
 * predictions beside the suite's measurements. Without micro records it says so in one line; it never invents costs.
 */
import path from 'node:path';
import type { CellSummary } from '../judge/aggregate.js';
import type { Environment } from '../data/record.js';
import { predictSuite, type CostModelOptions } from '../judge/cost-model.js';
import { microRoot, readMicroRecords, type MicroRecord } from '../data/micro-record.js';
import { costModelTables } from '../format/cost-model.js';

export interface CostReportOptions extends CostModelOptions {
  /** The suite's environment: its core count, and a warning when the micro run was made elsewhere. */
  env: Environment;
  plain?: boolean;
}

export function costModelReport(cells: readonly CellSummary[], resultsRoot: string, options: CostReportOptions): string {
  const root = microRoot(resultsRoot);
  let records: MicroRecord[];
  try {
    records = readMicroRecords(root);
  } catch (error) {
    const why = (error as Error).message.startsWith('no results') ? `no micro-benchmark records in ${root}` : (error as Error).message;
    return `cost model: ${why}; run \`npm run bench:micro\` for predicted beside measured`;
  }
  const first = records[0];
  if (!first) return `cost model: the micro run in ${root} is empty; run \`npm run bench:micro\``;
  const predictions = predictSuite(cells, records, options.env.cores, options);
  if (predictions.length === 0) return 'cost model: no workload here is covered (it predicts work none and cpu:<µs>, closed loop)';
  const elsewhere = [
    first.env.cpuModel !== options.env.cpuModel ? `CPU ${first.env.cpuModel}` : '',
    first.env.node !== options.env.node ? `Node ${first.env.node}` : '',
    first.env.hostname !== options.env.hostname ? `host ${first.env.hostname}` : '',
  ].filter(Boolean);
  const lines = [
    `Cost model: predicted beside measured; micro-costs from ${path.join(root, first.runId)} (${first.time.slice(0, 16).replace('T', ' ')})`,
    ...(elsewhere.length > 0 ? [`⚠ the micro run was made with ${elsewhere.join(', ')}, not this suite's: rerun npm run bench:micro here`] : []),
    costModelTables(predictions, options.plain),
  ];
  return lines.join('\n');
}
