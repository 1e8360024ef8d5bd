/**
 * `npm run report -- [SUITE]`: prints the tables and the verdict of a saved suite again (and rewrites its Markdown,
 * CSV, summary and charts) from its records alone. SUITE: a suite folder or records.jsonl; default results/LATEST.
 */
import { runMain, UsageError } from '../lib/cli-args.js';
import { helpText, parseOptions, switchOption } from '../lib/options.js';
import { readRecords, recordsFileFor, ResultsDir } from '../bench/results-dir.js';
import { summarizeRecords } from '../bench/aggregate.js';
import { applyDriverCeiling } from '../bench/ceiling.js';
import { isCeiling } from '../bench/record.js';
import { expandFamily } from '../bench/matrix.js';
import { FAMILIES } from '../bench/workloads.js';
import { verdictReport, writeCharts, writeReports } from '../bench/report.js';
import { groupByWorkload, workloadTable } from '../bench/format/table.js';
import { costModelReport } from '../bench/cost-report.js';

const OPTIONS = {
  noWrite: switchOption('no-write', 'print only; do not rewrite report.md, results.csv, summary.json and charts/'),
  help: switchOption('help', 'this text'),
} as const;

const USAGE = helpText(
  'usage: npm run report -- [SUITE] [--no-write]',
  `Re-renders a saved suite's tables, verdict and cost model from its records (results/<suite>/records.jsonl);
the cost model's micro-costs come from the newest micro run beside it (<root>/micro/LATEST).
  SUITE        a suite folder, a records.jsonl, or a results root (its LATEST suite); default results`,
  [{ options: [OPTIONS.noWrite, OPTIONS.help] }],
);

async function main(): Promise<void> {
  const { values, positionals } = parseOptions(process.argv.slice(2), OPTIONS, true);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (positionals.length > 1) throw new UsageError('give at most one SUITE');
  const file = recordsFileFor(positionals[0] ?? 'results');
  const records = readRecords(file);
  if (records.length === 0) throw new UsageError(`${file} holds no records`);
  const cells = applyDriverCeiling(summarizeRecords(records)).sort((a, b) => Number(isCeiling(a.model)) - Number(isCeiling(b.model)));
  // The families' predictions, matched by workload name (records do not carry prose).
  const workloads = FAMILIES.flatMap((f) => expandFamily(f));
  const plain = !process.stdout.isTTY;
  const tables = [...groupByWorkload(cells)].map(([name, group]) => workloadTable(name, group, plain)).join('\n\n');
  process.stdout.write(`${tables}\n\nVerdict\n${verdictReport(cells, workloads, plain)}\n`);
  // Micro-costs from the suite's results root (<root>/micro/LATEST). Records do not keep the warm-up length, so
  // fork-per-connection's start-up is predicted only by the bench itself.
  const dir = ResultsDir.of(file);
  const costModel = (plainText: boolean): string => costModelReport(cells, dir.root, { env: records[0]!.env, plain: plainText });
  process.stdout.write(`\n${costModel(plain)}\n`);
  if (!values.noWrite) {
    dir.write('cost-model.txt', `${costModel(true)}\n`);
    const splits = [...new Set(records.filter((r) => r.server).map((r) => `${r.params.pin}: server on CPU ${r.server!.cpus}, client on CPU ${r.clientCpus ?? 'unpinned'}`))];
    writeReports(dir, records[0]!.env, splits.join('; '), cells, records, verdictReport(cells, workloads, true));
    await writeCharts(dir, cells);
    process.stderr.write(`rewrote ${dir.dir}/ (report.md, results.csv, summary.json, cost-model.txt, charts/)\n`);
  }
}

runMain(main, USAGE);
