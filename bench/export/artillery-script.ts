/**
 * conbench's HTTP workloads as one Artillery script, so the same workload can run on Artillery's distributed
 * runners: one Artillery environment per workload (`artillery run -e <workload>`), one scenario that POSTs the
 * workload's payload and checks the echo byte for byte (artillery-processor.ts, shipped next to the script).
 *
 * Mapping. Closed loop: `connections` virtual users arrive within the first second, each on its own keep-alive
 * connection, sending back to back for warmup + duration seconds. Open loop: the rate becomes the arrival rate, one
 * request per virtual user, over a pool of `connections` keep-alive connections. connect-per-request sends
 * `Connection: close`. Handler work is the server's business: the comment above each environment says what the
 * server must be started with. Pure: workloads in, YAML text out.
 */
import { Document, isMap, isScalar } from 'yaml';
import type { Workload } from '../data/workloads.js';

export interface ArtilleryExportOptions {
  /** Base URL the script targets unless `--target` is given to artillery run. */
  target: string;
  warmupSec: number;
  durationSec: number;
  timeoutMs: number;
  /** The processor's file name, relative to the script. */
  processorFile: string;
  /** Printed in the header: where the script came from. */
  origin: string;
}

export interface ArtilleryExport {
  yaml: string;
  environments: string[];
  skipped: { workload: string; reason: string }[];
}

/** Why a workload cannot be expressed in Artillery's HTTP engine, or undefined. */
export function notExportable(w: Workload): string | undefined {
  if (w.protocol !== 'http') return `speaks ${w.protocol}; Artillery's HTTP engine drives HTTP`;
  if (w.inFlight > 1)
    return `${w.inFlight} requests in flight per connection; Artillery sends one request at a time per connection (no pipelining)`;
  return undefined;
}

function environment(w: Workload, o: ArtilleryExportOptions): Record<string, unknown> {
  const closedLoop = w.rate === undefined;
  const phases = closedLoop
    ? [{ name: `${w.connections} virtual user(s) connect`, duration: 1, arrivalCount: w.connections }]
    : [
        ...(o.warmupSec > 0 ? [{ name: 'warm up', duration: o.warmupSec, arrivalRate: w.rate }] : []),
        { name: 'measure', duration: o.durationSec, arrivalRate: w.rate },
      ];
  return {
    phases,
    ...(closedLoop ? {} : { http: { pool: w.connections } }),
    variables: {
      payloadBytes: w.payloadBytes,
      loopSeconds: closedLoop ? o.warmupSec + o.durationSec : 0,
      connection: w.pattern === 'connect-per-request' ? 'close' : 'keep-alive',
    },
  };
}

function header(o: ArtilleryExportOptions, environments: string[], skipped: ArtilleryExport['skipped']): string {
  return [
    ` conbench HTTP workloads as an Artillery script (${o.origin}).`,
    ` One environment per workload: ${environments.join(', ')}.`,
    ` 1. On the server host: npm run serve -- --model MODEL --protocol http --host ADDR --port PORT [--work W]`,
    `    (the handler work each workload needs is in the comment above its environment).`,
    ` 2. artillery run -e WORKLOAD --target http://ADDR:PORT THIS_FILE   (run-fargate / run-lambda alike)`,
    ` Closed loop: \`connections\` virtual users arrive in the first second, each sending back to back on its own`,
    ` keep-alive connection for warmup + duration s. Open loop: rate = arrival rate, one request per virtual user over`,
    ` a pool of \`connections\` connections. ${o.processorFile} checks every echo byte for byte; a mismatch fails the`,
    ` virtual user. Artillery's summary includes the warmup (nothing is discarded) and reports whole milliseconds.`,
    ...(skipped.length > 0 ? [` Not exported: ${skipped.map((s) => `${s.workload} (${s.reason})`).join('; ')}.`] : []),
  ].join('\n');
}

export function artilleryScript(workloads: readonly Workload[], o: ArtilleryExportOptions): ArtilleryExport {
  const skipped: ArtilleryExport['skipped'] = [];
  const exported: Workload[] = [];
  for (const w of workloads) {
    const why = notExportable(w);
    if (why) skipped.push({ workload: w.name, reason: why });
    else exported.push(w);
  }
  const script = {
    config: {
      target: o.target,
      processor: `./${o.processorFile}`,
      http: { timeout: o.timeoutMs / 1000 },
      environments: Object.fromEntries(exported.map((w) => [w.name, environment(w, o)])),
    },
    scenarios: [
      {
        name: 'conbench echo: POST the payload, check the echo',
        flow: [
          {
            loop: [
              {
                post: {
                  url: '/',
                  headers: { connection: '{{ connection }}' },
                  beforeRequest: 'conbenchBody',
                  afterResponse: 'conbenchVerify',
                },
              },
            ],
            whileTrue: 'conbenchUntilTimeUp',
          },
        ],
      },
    ],
  };
  const doc = new Document(script);
  const environments = exported.map((w) => w.name);
  doc.commentBefore = header(o, environments, skipped);
  const envMap = doc.getIn(['config', 'environments'], true);
  if (isMap(envMap)) {
    for (const pair of envMap.items) {
      const w = exported.find((e) => isScalar(pair.key) && e.name === pair.key.value)!;
      (pair.key as { commentBefore?: string }).commentBefore = ` ${w.description} · server: --work ${w.work}`;
    }
  }
  return { yaml: doc.toString({ lineWidth: 0 }), environments, skipped };
}
