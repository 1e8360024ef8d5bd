/** taskset CPU lists ("0", "0-3", "0,2-3"): parsed, counted and written back, the one implementation of them. */

/** The CPUs a list names, in order; throws on anything that is not a CPU list. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : from;
    for (let c = from; c <= to; c++) out.push(c);
  }
  return out;
}

/** How many CPUs a list names (NaN for a list that is not one). */
export function countCpus(list: string): number {
  try {
    return parseCpuList(list).length;
  } catch {
    return NaN;
  }
}

/** The shortest list naming these CPUs: [0, 1, 2, 5] → "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
