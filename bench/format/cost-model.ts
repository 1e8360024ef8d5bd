/** Predicted beside measured (the cost model), one cli-table3 table per workload, and how close it came. Pure. */
import type { SuiteJudgement } from '../judge/judgement.js';
import Table from 'cli-table3';
import type { Prediction, Term } from '../judge/cost-model.js';
import { SATURATED_SHARE, withinTolerance } from '../judge/cost-model.js';
import { formatCpuPerMsg } from '../data/metrics.js';
import { formatPercent, formatRate } from '../../lib/format/units.js';

const us = formatCpuPerMsg;

function signedPercent(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(0)}%`;
}

/** "event-loop measured 220 + piscina-task 60.68 + cpu:200 extra with every CPU busy −0.16" */
function termsText(terms: readonly Term[]): string {
  return terms.map((t) => `${t.label} ${t.us < 0 ? `−${us(-t.us)}` : us(t.us)}`).join(' + ');
}

function howText(p: Prediction): string {
  if (p.kind === 'not-predicted') return `not predicted: ${p.reason}`;
  if (p.kind === 'input') return 'the measured base every other prediction starts from';
  const parts = [termsText(p.terms)];
  if (p.bound === 'latency') parts.push("pace: one connection's round trips, one at a time");
  if (p.startup) {
    const s = p.startup;
    const frames =
      s.framesPerChild !== undefined ? `; ~${Math.round(s.framesPerChild)} frames per child inside the window` : '';
    parts.push(
      `start-up: ${s.children} children at once, ready after ${s.seconds.toFixed(2)} s on ${p.usableCpus!.toFixed(1)} CPU${s.starved ? ', after the window: nothing answered' : ''}${frames}${s.overCap > 0 ? `; ${s.overCap} connection(s) over the cap never served` : ''}`,
    );
  }
  if (p.perConnectionUs !== undefined && !p.terms.some((t) => t.label.startsWith('per connection')))
    parts.push(`per connection ${us(p.perConnectionUs)} (outside the window)`);
  return parts.join('; ');
}

function groupByWorkload(predictions: readonly Prediction[]): Map<string, Prediction[]> {
  const groups = new Map<string, Prediction[]>();
  for (const p of predictions) {
    const key = `${p.protocol}/${p.workload}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return groups;
}

export function costModelTables(predictions: readonly Prediction[], plain = false): string {
  const out: string[] = [];
  for (const [workload, group] of groupByWorkload(predictions)) {
    const table = new Table({
      head: [
        'model',
        'predicted µs/msg',
        'measured',
        'error',
        'predicted msgs/s',
        'measured msgs/s',
        'error',
        'how it adds up (CPU µs per message)',
      ],
      colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
      style: { compact: true, ...(plain ? { head: [], border: [] } : {}) },
    });
    for (const p of group) {
      const predictedCpu =
        p.kind === 'not-predicted' ? '–' : p.cpuUsPerMsg === undefined ? 'no msgs' : us(p.cpuUsPerMsg);
      const predictedRate = p.msgsPerSec === undefined ? '–' : formatRate(p.msgsPerSec);
      table.push([
        p.model,
        predictedCpu,
        us(p.measured.cpuUsPerMsg),
        p.kind === 'predicted' ? signedPercent(p.cpuError) : '',
        predictedRate,
        `${formatRate(p.measured.msgsPerSec)}${p.measured.clientBound ? ' ⚠' : ''}`,
        p.kind === 'predicted' ? signedPercent(p.rateError) : '',
        howText(p),
      ]);
    }
    out.push(`${workload} (server CPUs ${group[0]!.cpus})`, table.toString());
  }
  const { within, compared } = withinTolerance(predictions);
  const outside = compared.filter((p) => !within.includes(p));
  out.push(
    `within ±25 % (server CPU µs/msg): ${within.length} of ${compared.length} predicted Node cells` +
      (outside.length > 0
        ? `; outside: ${outside.map((p) => `${p.model} on ${p.workload} ${signedPercent(p.cpuError)}`).join(', ')}`
        : ''),
  );
  if (predictions.some((p) => p.measured.clientBound)) {
    out.push(
      "⚠ client-bound row: the load client set the pace, so its msgs/s is not the server's capacity and its CPU µs/msg was measured below saturation",
    );
  }
  const unsaturated = predictions.filter(
    (p) => p.kind === 'predicted' && p.rateError === undefined && !p.measured.clientBound && p.msgsPerSec !== 0,
  );
  if (unsaturated.length > 0) {
    out.push(
      `msgs/s not compared where neither side was saturated (server CPU < ${SATURATED_SHARE * 100} % of its usable CPUs): ${unsaturated.map((p) => `${p.model} on ${p.workload} (${formatPercent(p.measured.serverCpuPercent)})`).join(', ')}; the prediction is then an upper bound`,
    );
  }
  return out.join('\n');
}

/** The cost model as printed: predicted beside measured, or one line saying why there is none. */
export function costModelText(j: Pick<SuiteJudgement, 'costModel' | 'env'>, plain = false): string {
  const cm = j.costModel;
  if ('missing' in cm) return `cost model: ${cm.missing}; run \`npm run bench:micro\` for predicted beside measured`;
  if (cm.predictions.length === 0)
    return 'cost model: no workload here is covered (it predicts work none and cpu:<µs>, closed loop)';
  const elsewhere = [
    cm.micro.env.cpuModel !== j.env.cpuModel ? `CPU ${cm.micro.env.cpuModel}` : '',
    cm.micro.env.node !== j.env.node ? `Node ${cm.micro.env.node}` : '',
    cm.micro.env.hostname !== j.env.hostname ? `host ${cm.micro.env.hostname}` : '',
  ].filter(Boolean);
  return [
    `Cost model: predicted beside measured; micro-costs from ${cm.from} (${cm.micro.time.slice(0, 16).replace('T', ' ')})`,
    ...(elsewhere.length > 0
      ? [`⚠ the micro run was made with ${elsewhere.join(', ')}, not this suite's: rerun npm run bench:micro here`]
      : []),
    costModelTables(cm.predictions, plain),
  ].join('\n');
}
