/** Every entry point turns bad input into one clear line and exit code 2 — never a stack trace. */
import { preflight } from '../bench/suite/preflight.js';
import { MODEL_NAMES } from '../servers/registry.js';
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compiled } from '../lib/paths.js';
import { settingsFromArgs } from '../bench/data/settings.js';
import { isUsageError } from '../lib/cli-args.js';
import { runsOf } from './helpers/records.js';

function run(entry: string, args: string[]) {
  const r = spawnSync(process.execPath, [compiled(entry), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const STACK = /\n\s+at .+:\d+:\d+/;

describe('bad input', () => {
  // Checked in this process (a spawned bench costs ~0.4 s each); the one-line, exit-2 path they all take is checked
  // through the real entry point below.
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--runs', '0'], /--runs must be an integer from 1/],
    [['--duration', 'abc'], /--duration must be a positive number/],
    [['--work', 'cpu'], /work "cpu" needs an amount/],
    [['--work', 'cpu:'], /work must be one of none, cpu:<µs>/],
    [['--size', '12q'], /--size must be a byte count/],
    [['--model', 'nope'], /unknown model "nope"; known models: iterative, event-loop/],
    [['--profile', 'huge'], /--profile must be one of quick, full/],
    [['--filter', 'zzz'], /matches no workload/],
    [['--set', 'colour=blue'], /--set takes KEY=VALUE/],
    [['--protocol', 'http', '--driver', 'native'], /--driver native drives tcp, not http/],
    [['--margin', '0'], /--margin must be a positive number/],
    [['--margin', '150'], /--margin must be at most 100/],
    [['--against', 'no-such-ref-xyz', '--baseline', 'x'], /--against and --baseline are two ways/],
    [['--skip-timing'], /--skip-timing needs --counts/],
    [['--alternate', '-1'], /--alternate must be/],
    [['--against', 'HEAD', '--alternate', '-1'], /--alternate must be/],
    [['--max-runs', 'x'], /--max-runs must be an integer/],
    [['--baseline', '/nonexistent/x'], /no results at/],
    [
      ['--protocol', 'udp', '--model', 'iterative'],
      /nothing to run: every cell was excluded \(iterative does not serve udp/,
    ],
    [['--agent', 'somewhere'], /--agent must be HOST:PORT/],
    [['--agent-token-file', '/tmp/x'], /--agent-token-file needs --agent HOST:PORT/],
    [
      ['--agent', '127.0.0.1:7000', '--agent-token-file', '/nonexistent/token'],
      /--agent-token-file \/nonexistent\/token: cannot read it \(ENOENT\)/,
    ],
  ])('bench %j is a usage error naming what is wrong', (args, message) => {
    let thrown: unknown;
    try {
      // Parsing, then what the machine says about it (files named, cells the machine allows): both before anything runs.
      const s = settingsFromArgs(args as string[]);
      if (typeof s !== 'string') preflight(s);
    } catch (error) {
      thrown = error;
    }
    expect(isUsageError(thrown), String(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(message as RegExp);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--work', 'cpu'], /work "cpu" needs an amount/],
    [['--model', 'nope'], /unknown model "nope"/],
    [['--baseline', '/nonexistent/x'], /no results at/],
  ])('the bench entry point exits 2 with one line for %j', (args, message) => {
    const r = run('bench/suite/cli.ts', args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('serve, load and compare reject bad input the same way', () => {
    for (const [entry, args, message] of [
      ['servers/serve.ts', ['--model', 'event-loop', '--work', 'sleep:5'], /work must be one of none, cpu:<µs>/],
      [
        'servers/serve.ts',
        ['--model', 'native-epoll', '--protocol', 'http'],
        /native-epoll does not serve http: the native server speaks the framed TCP protocol only/,
      ],
      ['servers/serve.ts', ['--port', '70000', '--model', 'event-loop'], /--port must be a port from 0 to 65535/],
      ['clients/tcp-cli.ts', ['--target', 'localhost'], /--target must be HOST:PORT/],
      [
        'clients/tcp-cli.ts',
        ['--target', '127.0.0.1:9', '--rate', '10', '--pattern', 'connect-per-request'],
        /--rate applies to --pattern persistent only/,
      ],
      ['clients/udp-cli.ts', ['--target', '127.0.0.1:9', '--size', '4'], /--size must be 8–65507 bytes for UDP/],
      ['scripts/compare.ts', [], /give a BASELINE/],
    ] as const) {
      const r = run(entry, [...args]);
      expect(r.code, `${entry} ${args.join(' ')}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('compare exits 1 on a real regression and 0 when nothing changed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-'));
    const write = (name: string, rates: number[]): string => {
      const file = path.join(dir, name);
      writeFileSync(
        file,
        runsOf('event-loop', rates)
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n',
      );
      return file;
    };
    const base = write('base.jsonl', [100, 101, 99, 100]);
    const slower = write('slow.jsonl', [70, 71, 69, 70]);
    const same = write('same.jsonl', [100, 99, 101, 100]);
    const bad = run('scripts/compare.ts', [base, slower]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/REGRESSION/);
    expect(bad.stdout).toMatch(/-30\.0%/);
    const ok = run('scripts/compare.ts', [base, same]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/no regression in 1 gated cell/);
    // Nothing in common: the gate must not pass silently.
    const other = path.join(dir, 'other.jsonl');
    writeFileSync(
      other,
      runsOf('cluster-rr', [1, 2, 3])
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const none = run('scripts/compare.ts', [base, other]);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/1 baseline cell\(s\) were not measured this time/);
    expect(none.stdout).toMatch(/nothing was compared/);
  });

  it('compare judges one --against session again when given it alone: its base side against its head', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-'));
    const session = (name: string, head: number[]): string => {
      const file = path.join(dir, name);
      const records = [
        ...runsOf('event-loop', [100, 101, 99, 100], { side: 'base' }),
        ...runsOf('event-loop', head, { side: 'head' }),
      ];
      writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return file;
    };
    const slower = run('scripts/compare.ts', [session('slower.jsonl', [70, 71, 69, 70])]);
    expect(slower.stdout).toMatch(/one --against session, its base side against its head/);
    expect(slower.code).toBe(1);
    expect(slower.stdout).toMatch(/-30\.0%/);
    const same = run('scripts/compare.ts', [session('same.jsonl', [100, 99, 101, 100])]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no regression in 1 gated cell/);
  });

  it('compare names a file that is not a results file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conbench-'));
    const file = path.join(dir, 'records.jsonl');
    writeFileSync(file, '{"hello": 1}\n');
    const r = run('scripts/compare.ts', [file, file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a results file/);
  });
});

describe('bench settings', () => {
  it('--list and --help exit 0 and describe every model and flag', () => {
    const list = run('bench/suite/cli.ts', ['--list']);
    expect(list.code).toBe(0);
    for (const m of MODEL_NAMES) {
      expect(list.stdout).toContain(m);
    }
    const help = run('bench/suite/cli.ts', ['--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--model',
      '--duration',
      '--runs',
      '--connections',
      '--size',
      '--work',
      '--profile',
      '--filter',
      '--set',
      '--baseline',
    ]) {
      expect(help.stdout).toContain(flag);
    }
  });

  it('overrides apply to every workload, and http defaults to autocannon with pipelining 1', () => {
    const s = settingsFromArgs(['--connections', '7', '--size', '4k', '--work', 'async:2', '--runs', '2']);
    if (typeof s === 'string') throw new Error('expected settings');
    expect(s.runs).toBe(2);
    for (const w of s.workloads) expect(w).toMatchObject({ connections: 7, payloadBytes: 4096, work: 'async:2' });
    const h = settingsFromArgs(['--protocol', 'http']);
    if (typeof h === 'string') throw new Error('expected settings');
    for (const w of h.workloads) expect(w).toMatchObject({ protocol: 'http', driver: 'autocannon', inFlight: 1 });
    expect(preflight(h).plan.cells.some((c) => c.model.name === 'native-epoll')).toBe(false);
  });

  it('--dry-run prints the plan and an estimate without running anything', () => {
    const r = run('bench/suite/cli.ts', ['--profile', 'full', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/about \d+m\d+s/);
    expect(r.stdout).toMatch(/^connections\/c1000: /m);
    expect(r.stderr).toMatch(/then: whether each model holds p99 ≤ 10 ms at the open-loop rows' rates/);
    // With a rate named, --slo checks that rate: the plan does not promise a search.
    const atRate = run('bench/suite/cli.ts', ['--slo', 'p99=10ms', '--rate', '3000', '--filter', 'cpu', '--dry-run']);
    expect(atRate.code).toBe(0);
    expect(atRate.stderr).toMatch(/then: whether each model holds p99 ≤ 10 ms at the workload's own rate/);
    expect(atRate.stderr).not.toMatch(/searched/);
  });

  it("the full profile checks its objective at the open-loop rows' rates; --slo searches every workload", () => {
    const of = (argv: string[]) => {
      const s = settingsFromArgs(argv);
      if (typeof s === 'string') throw new Error('expected settings');
      return s;
    };
    expect(of(['--profile', 'full'])).toMatchObject({ slo: { text: 'p99 ≤ 10 ms' }, sloSearches: false });
    expect(of(['--profile', 'full', '--slo', 'p99.9=50ms'])).toMatchObject({
      slo: { percentile: 'p999' },
      sloSearches: true,
    });
    expect(of([]).slo).toBeUndefined();
    // Where it cannot apply, the profile's objective is left out rather than refused: a rate for every workload (each
    // would become a check), a comparison of two sides.
    expect(of(['--profile', 'full', '--rate', '2000']).slo).toBeUndefined();
    expect(of(['--profile', 'full', '--set', 'rate=2000']).slo).toBeUndefined();
    expect(of(['--profile', 'full', '--against', 'HEAD']).slo).toBeUndefined();
  });
});

describe('npm run bench, end to end (tiny)', () => {
  it('runs the cells, prints tables and the verdict, writes every report, and gates on a baseline', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'conbench-results-'));
    // --keep-every-run: exactly two runs a cell, however busy the machine is (no run is set aside and repeated).
    const args = [
      '--model',
      'event-loop,iterative',
      '--filter',
      'echo',
      '--runs',
      '2',
      '--max-runs',
      '2',
      '--keep-every-run',
      '--duration',
      '0.4',
      '--warmup',
      '0.1',
      '--out',
      out,
    ];
    const first = run('bench/suite/cli.ts', [...args, '--save-baseline']);
    expect(first.stderr).not.toMatch(STACK);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/tcp\/echo: tcp · 50 conn/);
    expect(first.stdout).toMatch(/Verdict/);
    expect(first.stderr).toMatch(/\[4\/4 ETA/);
    const suite = path.join(out, readFileSync(path.join(out, 'LATEST'), 'utf8').trim());
    for (const f of [
      'records.jsonl',
      'summary.json',
      'report.md',
      'report.html',
      'results.csv',
      'charts/verdict.svg',
      'charts/throughput-tcp_echo.svg',
    ]) {
      expect(existsSync(path.join(suite, f)), f).toBe(true);
    }
    const records = readFileSync(path.join(suite, 'records.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(4);
    for (const r of records) {
      expect(r.status).toBe('ok');
      expect(r.discarded).toBeUndefined();
      expect(r.env.node).toBe(process.version);
      expect(r.params).toMatchObject({ protocol: 'tcp', connections: 50, payloadBytes: 64 });
      expect(r.result.errors.mismatches).toBe(0);
    }
    expect(existsSync(path.join(out, 'baseline', 'records.jsonl'))).toBe(true);
    // The tables and verdict come back from the records alone.
    const again = run('scripts/report.ts', [suite, '--no-write']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/tcp\/echo: tcp · 50 conn/);
    expect(again.stdout).toMatch(/Verdict/);
    // Whether a rerun differs significantly is up to the machine, so here only the mechanics are checked (the
    // verdict logic is tested on known samples in compare.test.ts and through `npm run compare` below).
    const second = run('bench/suite/cli.ts', [...args, '--baseline', path.join(out, 'baseline')]);
    expect(second.stderr).not.toMatch(STACK);
    expect([0, 1]).toContain(second.code);
    expect(second.stdout).toMatch(/Against the baseline/);
    const suite2 = path.join(out, readFileSync(path.join(out, 'LATEST'), 'utf8').trim());
    expect(readFileSync(path.join(suite2, 'compare.txt'), 'utf8')).toMatch(/tcp\/echo\/(event-loop|iterative)/);
  });
});
