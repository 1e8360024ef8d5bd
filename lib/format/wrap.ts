/**
 * Text to a terminal's width: words moved to the next line, continuation lines indented. Without a width (a pipe, a
 * file) the text is returned as it is: scripts read whole lines.
 */
export function wrap(text: string, width: number | undefined, indent = ''): string {
  if (width === undefined || !Number.isFinite(width)) return text;
  return text
    .split('\n')
    .map((line) => wrapLine(line, width, indent))
    .join('\n');
}

function wrapLine(line: string, width: number, indent: string): string {
  if ([...line].length <= width) return line;
  const lead = /^\s*/.exec(line)![0];
  const words = line.slice(lead.length).split(' ');
  const out: string[] = [];
  let current = lead;
  const next = lead + indent;
  for (const word of words) {
    const candidate = current.trim() === '' ? `${current}${word}` : `${current} ${word}`;
    if ([...candidate].length > width && current.trim() !== '') {
      out.push(current);
      current = `${next}${word}`;
    } else current = candidate;
  }
  out.push(current);
  return out.join('\n');
}
