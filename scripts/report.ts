/**
 * `npm run report -- [SUITE]`: prints the tables and the verdict of a saved suite again (and rewrites its Markdown,
 * CSV, summary and charts) from its records alone. SUITE: a suite folder or records.jsonl; default results/LATEST.
 */
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { isFileSystemError } from '../lib/files.js';
import { helpText, parseOptions, positiveNumberOption, switchOption } from '../lib/options.js';
import { readRecords, readSuiteParams, recordsFileFor, ResultsDir } from '../bench/data/records-file.js';
import { FAMILIES } from '../bench/data/workloads.js';
import { expandFamily } from '../bench/data/matrix.js';
import { renderSuite } from '../bench/suite/render.js';

const OPTIONS = {
  marginPercent: positiveNumberOption('margin', {
    meta: 'PCT',
    max: 100,
    help: "judge the verdict at this equivalence margin instead of the suite's own",
    defaultText: 'the margin the suite ran with',
  }),
  wide: switchOption('wide', 'print every column, the verdict matrix, the cost model and the gate table'),
  noWrite: switchOption(
    'no-write',
    'print only; do not rewrite report.md, report.html, results.csv, summary.json and charts/',
  ),
  help: switchOption('help', 'this text'),
} as const;

const USAGE = helpText(
  'usage: npm run report -- [SUITE] [--no-write]',
  `Re-renders a saved suite's tables, verdict and cost model from its records (results/<suite>/records.jsonl);
the cost model's micro-costs come from the newest micro run beside it (<root>/micro/LATEST).
  SUITE        a suite folder, a records.jsonl, or a results root (its LATEST suite); default results`,
  [{ options: [OPTIONS.marginPercent, OPTIONS.wide, OPTIONS.noWrite, OPTIONS.help] }],
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
  const dir = ResultsDir.of(file);
  const marginPercent = values.marginPercent ?? readSuiteParams(dir.dir, records).marginPercent;
  const options = {
    plain: !process.stdout.isTTY,
    wide: values.wide,
    ...(process.stdout.isTTY ? { width: process.stdout.columns } : {}),
    margin: marginPercent / 100,
    workloads: FAMILIES.flatMap((f) => expandFamily(f)),
    resultsRoot: dir.root,
  };
  if (values.noWrite) {
    // The same render with a sink that keeps nothing: the suite's files stay as they are.
    const discard = { write: (name: string) => name };
    process.stdout.write((await renderSuite(discard, records, { ...options, charts: false })).text);
    return;
  }
  const rendered = await renderSuite(dir, records, { ...options, charts: true }).catch((error: unknown) => {
    if (isFileSystemError(error))
      throw new Error(`${(error as Error).message} (--no-write prints the suite without writing its files)`);
    throw error;
  });
  process.stdout.write(rendered.text);
  if (rendered.chartError) process.stderr.write(`charts not written: ${rendered.chartError}\n`);
  process.stderr.write(
    `rewrote ${dir.dir}/ (report.md, report.html, results.csv, summary.json, cost-model.txt, charts/)\n`,
  );
}

runCommand(main, { usage: USAGE });
