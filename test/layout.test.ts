/**
 * The house rules, checked on the source: every import points down the floors (lib/ at the bottom, then servers/ and
 * clients/, then bench/'s rooms in order, then scripts/), and no module imports itself back through others (no
 * cycle). A room may import its own files and any room below it.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The floors, lowest first. */
const FLOORS: readonly string[] = [
  'lib',
  'servers',
  'clients',
  'bench/data',
  'bench/judge',
  'bench/run',
  'bench/host',
  'bench/format',
  'bench/export',
  'bench/micro',
  'bench/suite',
  'scripts',
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function floorOf(file: string): number {
  // The longest floor that contains the file (bench/run before bench).
  let best = -1;
  for (const [i, f] of FLOORS.entries())
    if (file === f || file.startsWith(`${f}/`)) best = best < 0 || f.length > FLOORS[best]!.length ? i : best;
  return best;
}

/** Each source file's relative imports, resolved to source paths. */
function importGraph(): Map<string, string[]> {
  const files = ['lib', 'servers', 'clients', 'bench', 'scripts'].flatMap(sources);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
      path.normalize(path.join(path.dirname(file), m[1]!)).replace(/\.js$/, '.ts'),
    );
    graph.set(
      file,
      targets.filter((t) => files.includes(t)),
    );
  }
  return graph;
}

/** Import cycles (Tarjan's strongly connected components with more than one module, or a module importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('the layout', () => {
  const graph = importGraph();

  it('every source file lives on a floor', () => {
    expect([...graph.keys()].filter((f) => floorOf(f) < 0)).toEqual([]);
  });

  it('no import runs up a floor', () => {
    const upward = [...graph].flatMap(([from, tos]) =>
      tos.filter((to) => floorOf(to) > floorOf(from)).map((to) => `${from} → ${to}`),
    );
    expect(upward).toEqual([]);
  });

  it('no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });
});
