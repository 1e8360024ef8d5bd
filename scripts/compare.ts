/**
 * `npm run compare -- BASELINE [CURRENT] [options]`: compares two saved suites cell by cell and exits 1 when a cell
 * regressed (a significant drop beyond the threshold). BASELINE/CURRENT: a suite folder, a records.jsonl, or a
 * results root (its LATEST suite). CURRENT defaults to results/.
 */
import { parseFlags, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { readRecords, recordsFileFor } from '../bench/results-dir.js';
import { appendFileSync } from 'node:fs';
import { runGate } from '../bench/gate.js';
import { compareMarkdown, compareTable } from '../bench/format/compare.js';

const USAGE = `usage: npm run compare -- BASELINE [CURRENT] [options]

Compares the cells of two bench suites, metric by metric (server CPU µs/msg, throughput, and the p99 of
open-loop cells), with Welch's t-test and the 95% interval of each change. Exits 1 on a regression, when
nothing at all could be compared, or (unless --allow-inconclusive) when a comparison could not be decided.

  BASELINE, CURRENT      a suite folder (results/<suite>), its records.jsonl, or a results root (uses LATEST);
                         CURRENT defaults to results
  --threshold PCT        a change must be significant and larger than this to count (default 10)
  --alpha A              significance level (default 0.05)
  --absolute             compare absolute msgs/s instead of throughput relative to the native ceiling
  --allow-inconclusive   pass comparisons with too few runs or an interval too wide to decide
  --markdown FILE        also write the comparison as Markdown (e.g. $GITHUB_STEP_SUMMARY)`;

async function main(): Promise<void> {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    {
      threshold: { type: 'string' },
      alpha: { type: 'string' },
      absolute: { type: 'boolean' },
      'allow-inconclusive': { type: 'boolean' },
      markdown: { type: 'string' },
      help: { type: 'boolean' },
    },
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
  const thresholdPercent = positiveNumber('threshold', values.threshold, 10);
  const alpha = positiveNumber('alpha', values.alpha, 0.05);
  if (alpha >= 1) throw new UsageError(`--alpha must be below 1 (got "${values.alpha}")`);
  const gate = runGate(baseline, current, { thresholdPercent, alpha, absolute: values.absolute === true, allowInconclusive: values['allow-inconclusive'] === true });
  process.stdout.write(compareTable(gate.report, thresholdPercent, gate.decision, !process.stdout.isTTY) + '\n');
  if (values.markdown !== undefined) appendFileSync(values.markdown, compareMarkdown(gate.report, thresholdPercent, gate.decision));
  // A gate that compared nothing, or could not decide, must not pass silently.
  if (gate.fails) process.exitCode = 1;
}

runMain(main, USAGE);
