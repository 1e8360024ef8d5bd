/**
 * `npm run compare -- BASELINE [CURRENT] [options]`: compares two saved suites cell by cell and exits 1 when a cell
 * regressed (a significant drop beyond the threshold). BASELINE/CURRENT: a suite folder, a records.jsonl, or a
 * results root (its LATEST suite). CURRENT defaults to results/.
 */
import { parseFlags, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { readRecords, recordsFileFor } from '../bench/results-dir.js';
import { compareSuites, pickReference } from '../bench/compare.js';
import { compareTable } from '../lib/format/compare.js';
import { MODELS } from '../servers/registry.js';

const USAGE = `usage: npm run compare -- BASELINE [CURRENT] [options]

Compares the cells of two bench suites with Welch's t-test and exits 1 on a regression, or when nothing at all
could be compared.

  BASELINE, CURRENT   a suite folder (results/<suite>), its records.jsonl, or a results root (uses LATEST);
                      CURRENT defaults to results
  --threshold PCT     a drop must be significant and larger than this to fail (default 10)
  --alpha A           significance level (default 0.05)
  --absolute          compare absolute msgs/s instead of throughput relative to the native ceiling`;

async function main(): Promise<void> {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { threshold: { type: 'string' }, alpha: { type: 'string' }, absolute: { type: 'boolean' }, help: { type: 'boolean' } },
    true,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('give a BASELINE and optionally a CURRENT suite');
  const baselineFile = recordsFileFor(positionals[0]!);
  const currentFile = recordsFileFor(positionals[1] ?? 'results');
  const baseline = readRecords(baselineFile);
  const current = readRecords(currentFile);
  process.stdout.write(`baseline: ${baselineFile}\ncurrent:  ${currentFile}\n`);
  const threshold = positiveNumber('threshold', values.threshold, 10);
  const alpha = positiveNumber('alpha', values.alpha, 0.05);
  if (alpha >= 1) throw new UsageError(`--alpha must be below 1 (got "${values.alpha}")`);
  const reference = values.absolute ? undefined : pickReference(baseline, current, MODELS.filter((m) => m.runtime === 'native').map((m) => m.name));
  const report = compareSuites(baseline, current, { threshold: threshold / 100, alpha, ...(reference ? { reference } : {}) });
  process.stdout.write(compareTable(report, threshold, !process.stdout.isTTY) + '\n');
  // A gate that compared nothing must not pass silently.
  if (report.regressions.length > 0 || report.compared === 0) process.exitCode = 1;
}

runMain(main, USAGE);
