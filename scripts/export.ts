/**
 * `npm run export -- --format artillery [--filter …] [--out FILE]`: writes conbench's HTTP workloads as an Artillery
 * script (bench/export/artillery-script.ts) and, next to it, the processor that checks every echo.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../lib/cli-args.js';
import { runCommand } from '../lib/lifecycle.js';
import { DEFAULTS } from '../lib/defaults.js';
import {
  choiceOption,
  helpText,
  nonNegativeNumberOption,
  parseOptions,
  positiveNumberOption,
  switchOption,
  textOption,
} from '../lib/options.js';
import { WORKLOAD_OPTIONS, workloadsFromFlags } from '../bench/data/settings.js';
import { artilleryScript } from '../bench/export/artillery-script.js';
import { ARTILLERY_VERSION } from '../bench/export/artillery-tool.js';
import { captureEnvironment } from '../bench/run/env.js';
import { compiled } from '../lib/paths.js';
import { makeDirectory } from '../lib/files.js';

const FORMATS = ['artillery'] as const;

const OPTIONS = {
  format: choiceOption('format', FORMATS, { meta: 'F', help: 'artillery (the only format so far)' }),
  out: textOption('out', {
    meta: 'FILE',
    default: path.join('results', 'artillery', 'conbench.yml'),
    help: 'the script to write',
  }),
  target: textOption('target', {
    meta: 'URL',
    default: 'http://127.0.0.1:9000',
    help: 'base URL in the script (artillery run --target overrides it)',
  }),
  ...WORKLOAD_OPTIONS,
  profile: { ...WORKLOAD_OPTIONS.profile, help: 'whose workloads', defaultText: 'full: all of them' },
  durationSec: positiveNumberOption('duration', {
    meta: 'SEC',
    help: 'seconds of load per workload',
    defaultText: "the profile's",
  }),
  warmupSec: nonNegativeNumberOption('warmup', {
    meta: 'SEC',
    help: 'seconds of warmup before it',
    defaultText: "the profile's",
  }),
  timeoutMs: positiveNumberOption('timeout', {
    meta: 'MS',
    default: DEFAULTS.timeoutMs,
    help: 'a request unanswered this long fails',
  }),
  help: switchOption('help', 'this text'),
} as const;

const O = OPTIONS;
const USAGE = helpText(
  'usage: npm run export -- --format artillery [options]',
  'Writes the HTTP workloads (every family of the profile, over HTTP) as one Artillery script with one environment\nper workload, and the processor that checks every echo next to it (FILE → FILE without .yml + .processor.mjs).',
  [
    { options: [O.format, O.out, O.target, O.profile, O.filter] },
    {
      heading: 'Changing every workload, as for npm run bench',
      options: [O.connections, O.payloadBytes, O.work, O.inFlight, O.pattern, O.rate, O.set],
    },
    { options: [O.durationSec, O.warmupSec, O.timeoutMs, O.help] },
  ],
);

function targetUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--target must be a URL such as http://127.0.0.1:9000 (got "${text}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--target must be an http:// or https:// URL (got "${text}")`);
  return text.replace(/\/+$/, '');
}

async function main(): Promise<void> {
  const { values: v, given } = parseOptions(process.argv.slice(2), OPTIONS);
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (v.format === undefined) throw new UsageError(`--format is required: one of ${FORMATS.join(', ')}`);
  if (v.protocol !== undefined && v.protocol !== 'http')
    throw new UsageError(
      `--protocol ${String(v.protocol)}: Artillery scripts are exported for the HTTP workloads only`,
    );
  if (given.has('driver')) throw new UsageError('--driver does not apply: Artillery is the driver');
  const { profile, workloads } = workloadsFromFlags({ ...v, protocol: 'http' }, 'full');
  const out = path.resolve(v.out);
  const processorFile = `${path.basename(out).replace(/\.ya?ml$/i, '')}.processor.mjs`;
  const env = captureEnvironment();
  const script = artilleryScript(workloads, {
    target: targetUrl(v.target),
    warmupSec: v.warmupSec ?? profile.warmupSec,
    durationSec: v.durationSec ?? profile.durationSec,
    timeoutMs: v.timeoutMs,
    processorFile,
    origin: `npm run export -- --format artillery; conbench ${env.gitCommit}${env.gitDirty ? ' (modified)' : ''}; tested with Artillery ${ARTILLERY_VERSION}`,
  });
  if (script.environments.length === 0)
    throw new UsageError(`nothing to export: ${script.skipped.map((s) => `${s.workload} ${s.reason}`).join('; ')}`);

  makeDirectory(path.dirname(out));
  writeFileSync(out, script.yaml);
  const processor = readFileSync(compiled('bench/export/artillery-processor.ts'), 'utf8').replace(
    /^\/\/# sourceMappingURL=.*$/m,
    '',
  );
  writeFileSync(path.join(path.dirname(out), processorFile), processor);

  const err = process.stderr;
  err.write(
    `wrote ${out} (${script.environments.length} workload(s): ${script.environments.join(', ')}) and ${processorFile} next to it\n`,
  );
  for (const s of script.skipped) err.write(`not exported: ${s.workload}: ${s.reason}\n`);
  const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
  err.write(`run one: artillery run -e ${script.environments[0]} --target http://HOST:PORT ${shown}\n`);
}

runCommand(main, { usage: USAGE });
