/**
 * `npm run compare -- BASELINE [CURRENT] [options]`: compares two saved suites cell by cell and exits 1 when a cell
 * regressed (a significant drop beyond the threshold). BASELINE/CURRENT: a suite folder, a records.jsonl, or a
 * results root (its LATEST suite). CURRENT defaults to results/.
 */
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import { helpText, parseOptions, positiveNumberOption, switchOption, textOption } from '../lib/options.js';
import { readRecords, recordsFileFor } from '../bench/data/records-file.js';
import { appendFileSync } from 'node:fs';
import { runGate } from '../bench/judge/gate.js';
import { compareMarkdown, compareTable } from '../bench/format/compare.js';
import { historyReport } from '../bench/format/history.js';
import { splitSides, type RunRecord } from '../bench/data/record.js';

const OPTIONS = {
  thresholdPercent: positiveNumberOption('threshold', {
    meta: 'PCT',
    default: DEFAULTS.thresholdPercent,
    help: 'a change must be significant and larger than this to count',
  }),
  alpha: positiveNumberOption('alpha', { meta: 'A', default: DEFAULTS.alpha, max: 0.999, help: 'significance level' }),
  absolute: switchOption('absolute', 'compare absolute msgs/s instead of throughput relative to the native ceiling'),
  allowInconclusive: switchOption(
    'allow-inconclusive',
    'pass comparisons with too few runs or an interval too wide to decide',
  ),
  markdown: textOption('markdown', {
    meta: 'FILE',
    help: 'also write the comparison as Markdown (e.g. $GITHUB_STEP_SUMMARY)',
  }),
  history: switchOption(
    'history',
    "DIR… are saved suites in commit order (e.g. the workflow's artifacts of main): find the change\npoints per cell and metric, and the commit each came with",
  ),
  help: switchOption('help', 'this text'),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: npm run compare -- BASELINE [CURRENT] [options]',
  `Compares the cells of two bench suites, metric by metric (server CPU µs/msg, throughput, and the p99 of
open-loop cells), with Welch's t-test (a paired t-test where both sides ran in blocks) and the 95% interval of
each change. Exits 1 on a regression, when nothing at all could be compared, or (unless --allow-inconclusive)
when a comparison could not be decided.

  BASELINE, CURRENT      a suite folder (results/<suite>), its records.jsonl, or a results root (uses LATEST);
                         CURRENT defaults to results. A suite measured with --against, given alone, is judged
                         again: its base side against its head side, with the gate as it is now`,
  [{ options: [O.thresholdPercent, O.alpha, O.absolute, O.allowInconclusive, O.markdown, O.history, O.help] }],
);

async function main(): Promise<void> {
  const { values: v, positionals } = parseOptions(process.argv.slice(2), OPTIONS, true);
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (v.history) {
    if (positionals.length < 4) throw new UsageError('--history needs at least 4 suites, in commit order');
    const suites = positionals.map((p) => ({ file: recordsFileFor(p), records: [] as RunRecord[] }));
    for (const s of suites) s.records = readRecords(s.file);
    process.stdout.write(
      historyReport(
        suites.map((s) => ({ label: s.file, records: s.records })),
        { threshold: v.thresholdPercent / 100, alpha: v.alpha },
      ) + '\n',
    );
    return;
  }
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('give a BASELINE and optionally a CURRENT suite');
  const baselineFile = recordsFileFor(positionals[0]!);
  const first = readRecords(baselineFile);
  const oneSession =
    positionals.length === 1 && first.some((r) => r.side === 'base') && first.some((r) => r.side === 'head');
  const currentFile = oneSession ? baselineFile : recordsFileFor(positionals[1] ?? 'results');
  const [baseline, current] = oneSession ? splitSides(first) : [first, readRecords(currentFile)];
  process.stdout.write(
    oneSession
      ? `one --against session, its base side against its head: ${baselineFile}\n`
      : `baseline: ${baselineFile}\ncurrent:  ${currentFile}\n`,
  );
  const gate = runGate(baseline, current, {
    thresholdPercent: v.thresholdPercent,
    alpha: v.alpha,
    absolute: v.absolute,
    allowInconclusive: v.allowInconclusive,
  });
  process.stdout.write(compareTable(gate.report, v.thresholdPercent, gate.decision, !process.stdout.isTTY) + '\n');
  if (v.markdown !== undefined)
    appendFileSync(v.markdown, compareMarkdown(gate.report, v.thresholdPercent, gate.decision));
  // A gate that compared nothing, or could not decide, must not pass silently.
  if (gate.fails) process.exitCode = 1;
}

runCommand(main, { usage: USAGE });
