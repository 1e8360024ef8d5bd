/**
 * `npm run export -- --format artillery [--filter …] [--out FILE]`: writes conbench's HTTP workloads as an Artillery
 * script (bench/export-artillery.ts) and, next to it, the processor that checks every echo.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nonNegativeNumber, oneOf, parseFlags, positiveNumber, runMain, UsageError } from '../lib/cli-args.js';
import { WORKLOAD_FLAGS, workloadsFromFlags } from '../bench/settings.js';
import { artilleryScript } from '../bench/export-artillery.js';
import { ARTILLERY_VERSION } from '../bench/artillery-tool.js';
import { captureEnvironment } from '../bench/env.js';
import { compiled } from '../servers/paths.js';

const FORMATS = ['artillery'] as const;

const USAGE = `usage: npm run export -- --format artillery [options]

Writes the HTTP workloads (every family of the profile, over HTTP) as one Artillery script with one environment
per workload, and the processor that checks every echo next to it (FILE → FILE without .yml + .processor.mjs).

  --format F           artillery (the only format so far)
  --out FILE           the script to write (default results/artillery/conbench.yml)
  --target URL         base URL in the script (default http://127.0.0.1:9000; artillery run --target overrides it)
  --profile NAME       whose workloads (default full: all of them)
  --filter TEXT        only workloads whose name contains TEXT (comma-separated: any of them)
  --connections N, --size S, --work SPEC, --rate R, --pattern P, --set KEY=VALUE
                       change every workload, as for npm run bench
  --duration SEC       seconds of load per workload (default: the profile's)
  --warmup SEC         seconds of warmup before it (default: the profile's)
  --timeout MS         a request unanswered this long fails (default 5000)
  --help               this text`;

function targetUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--target must be a URL such as http://127.0.0.1:9000 (got "${text}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--target must be an http:// or https:// URL (got "${text}")`);
  return text.replace(/\/+$/, '');
}

async function main(): Promise<void> {
  const { values } = parseFlags(process.argv.slice(2), {
    ...WORKLOAD_FLAGS,
    format: { type: 'string' },
    out: { type: 'string' },
    target: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.format === undefined) throw new UsageError(`--format is required: one of ${FORMATS.join(', ')}`);
  oneOf('format', values.format, FORMATS, 'artillery');
  if (values.protocol !== undefined && values.protocol !== 'http') throw new UsageError(`--protocol ${values.protocol}: Artillery scripts are exported for the HTTP workloads only`);
  if (values.driver !== undefined) throw new UsageError('--driver does not apply: Artillery is the driver');
  const { profile, workloads } = workloadsFromFlags({ ...values, protocol: 'http' }, 'full');
  const out = path.resolve(values.out ?? path.join('results', 'artillery', 'conbench.yml'));
  const processorFile = `${path.basename(out).replace(/\.ya?ml$/i, '')}.processor.mjs`;
  const env = captureEnvironment();
  const script = artilleryScript(workloads, {
    target: targetUrl(values.target ?? 'http://127.0.0.1:9000'),
    warmupSec: nonNegativeNumber('warmup', values.warmup, profile.warmupSec),
    durationSec: positiveNumber('duration', values.duration, profile.durationSec),
    timeoutMs: positiveNumber('timeout', values.timeout, 5000),
    processorFile,
    origin: `npm run export -- --format artillery; conbench ${env.gitCommit}${env.gitDirty ? ' (modified)' : ''}; tested with Artillery ${ARTILLERY_VERSION}`,
  });
  if (script.environments.length === 0) throw new UsageError(`nothing to export: ${script.skipped.map((s) => `${s.workload} ${s.reason}`).join('; ')}`);

  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, script.yaml);
  const processor = readFileSync(compiled('bench/artillery-processor.ts'), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  writeFileSync(path.join(path.dirname(out), processorFile), processor);

  const err = process.stderr;
  err.write(`wrote ${out} (${script.environments.length} workload(s): ${script.environments.join(', ')}) and ${processorFile} next to it\n`);
  for (const s of script.skipped) err.write(`not exported: ${s.workload}: ${s.reason}\n`);
  const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
  err.write(`run one: artillery run -e ${script.environments[0]} --target http://HOST:PORT ${shown}\n`);
}

runMain(main, USAGE);
