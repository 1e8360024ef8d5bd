/**
 * report.html: written by the one render pipeline, self-contained, and working in a real browser (Debian's chromium
 * driven by playwright-core; skipped with the reason where there is none): it loads with no console error and no
 * network request, draws every chart, a filter narrows a table, a header sorts it, and a verdict cell leads to its
 * workload. Behaviour, not pixels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsDir } from '../bench/data/records-file.js';
import { renderSuite } from '../bench/suite/render.js';
import { runGate } from '../bench/judge/gate.js';
import type { RunRecord } from '../bench/data/record.js';
import { fakeRecord } from './helpers/records.js';

const CHROMIUM = process.env.CONBENCH_CHROMIUM ?? '/usr/bin/chromium';
const MODELS = ['event-loop', 'cluster-rr', 'piscina'];

function suiteRecords(side?: 'base' | 'head', slower = 1): RunRecord[] {
  const out: RunRecord[] = [];
  let run = 0;
  for (const workload of ['echo', 'cpu']) {
    for (let i = 0; i < 4; i++) {
      for (const [m, model] of MODELS.entries()) {
        const rate = (workload === 'echo' ? 50_000 : 6_000) / (m + 1) / (model === 'event-loop' ? slower : 1);
        out.push(
          fakeRecord({
            workload,
            model,
            run: i,
            msgsPerSec: rate * (1 + 0.01 * i),
            latencies: [100 + m * 50, 200, 400],
            serverCpuPercent: 90,
            time: new Date(Date.UTC(2026, 0, 1) + run++ * 1000).toISOString(),
            ...(side ? { side } : {}),
          }),
        );
      }
    }
  }
  // A run set aside: shown as its own point, never counted.
  const aside = fakeRecord({
    workload: 'echo',
    model: 'cluster-rr',
    run: 4,
    msgsPerSec: 9_000,
    ...(side ? { side } : {}),
  });
  if (aside.status === 'ok') aside.discarded = 'other processes used 60% of a CPU during the window (limit 15%)';
  return [...out, aside];
}

async function render(records: RunRecord[], gate = false): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'conbench-html-'));
  const dir = new ResultsDir(root, 'suite');
  const base = records.filter((r) => r.side === 'base').map(({ side: _s, ...r }) => r as RunRecord);
  const head = records.filter((r) => r.side === 'head').map(({ side: _s, ...r }) => r as RunRecord);
  const result = gate
    ? runGate(base, head, { thresholdPercent: 10, alpha: 0.05, absolute: true, allowInconclusive: false })
    : undefined;
  await renderSuite(dir, records, {
    plain: true,
    charts: false,
    margin: 0.2,
    resultsRoot: root,
    ...(result ? { gate: { result, thresholdPercent: 10, heading: 'against base' } } : {}),
  });
  return path.join(dir.dir, 'report.html');
}

describe('report.html', () => {
  it('is one self-contained file: nothing fetched, every model and workload in it', async () => {
    const file = await render(suiteRecords());
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="(https?:)?\/\//i);
    for (const m of MODELS) expect(html).toContain(`data-model="${m}"`);
    expect(html).toContain('id="w-tcp-echo"');
    expect(html).toContain('href="#w-tcp-cpu"');
  });
});

let chromium: typeof import('playwright-core').chromium | undefined;
let why = '';
try {
  if (!existsSync(CHROMIUM)) why = `no chromium at ${CHROMIUM} (apt-get install chromium, or set CONBENCH_CHROMIUM)`;
  else chromium = (await import('playwright-core')).chromium;
} catch (error) {
  why = `playwright-core cannot be loaded: ${(error as Error).message}`;
}

describe.skipIf(!chromium)(`report.html in a real browser${chromium ? '' : ` (skipped: ${why})`}`, () => {
  let browser: import('playwright-core').Browser;
  beforeAll(async () => {
    browser = await chromium!.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    await page.waitForFunction(
      () =>
        document.querySelectorAll('.chart').length > 0 &&
        document.querySelectorAll('.chart svg').length === document.querySelectorAll('.chart').length,
      null,
      { timeout: 30_000 },
    );
    return { page, errors, requests };
  }

  it('loads with no console error and no request but the file, and draws every chart', async () => {
    const file = await render(suiteRecords());
    const { page, errors, requests } = await open(file);
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${file}`]);
    expect(await page.locator('.chart svg').count()).toBe(4);
    await page.close();
  });

  it('a model filter narrows its table; a header sorts it; a verdict cell leads to its workload', async () => {
    const { page } = await open(await render(suiteRecords()));
    const echo = page.locator('#w-tcp-echo');
    const visible = () => echo.locator('table.cells tbody tr:not([hidden])');
    expect(await visible().count()).toBe(3);
    await echo.locator('.model-filter').fill('cluster');
    expect(await visible().count()).toBe(1);
    expect(await visible().first().getAttribute('data-model')).toBe('cluster-rr');
    await expect.poll(() => echo.locator('.shown').textContent()).toBe('1 of 3 rows');
    await echo.locator('.model-filter').fill('');
    const header = echo.locator('th', { hasText: 'msgs/s' }).first();
    await header.click();
    expect(await visible().first().getAttribute('data-model')).toBe('piscina');
    await header.click();
    expect(await visible().first().getAttribute('data-model')).toBe('event-loop');
    await page.locator('table.verdict tr', { hasText: 'cpu' }).locator('td.v a').first().click();
    expect(new URL(page.url()).hash).toBe('#w-tcp-cpu');
    await expect.poll(() => page.locator('#w-tcp-cpu h2').isVisible()).toBe(true);
    // Scrolled to it: the section starts inside the viewport (at its top, less a collapsed margin).
    const top = await page.locator('#w-tcp-cpu').evaluate((el) => el.getBoundingClientRect().top);
    expect(top).toBeGreaterThan(-5);
    expect(top).toBeLessThan(900);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    await page.close();
  });

  it('a counted-only suite (no timed run) loads without errors and draws no empty chart', async () => {
    const counted = MODELS.map((model, m) =>
      fakeRecord({ workload: 'echo', model, run: 0, msgsPerSec: 100, instructionsPerMsg: 13_000 + m * 1000 }),
    );
    const file = await render(counted);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    expect(await page.locator('.chart').count()).toBe(0);
    expect(await page.locator('#w-tcp-echo').textContent()).toMatch(/counted only/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a comparison shows each cell's change with its decision", async () => {
    const { page, errors } = await open(await render([...suiteRecords('base'), ...suiteRecords('head', 1.3)], true));
    expect(errors).toEqual([]);
    const rows = page.locator('#comparison tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    const regression = page.locator('#comparison tr.regression', { hasText: 'event-loop' });
    expect(await regression.count()).toBeGreaterThan(0);
    expect(await page.locator('#comparison .decision').textContent()).toMatch(/^FAIL/);
    await page.close();
  });
});
