import type { TableConstructorOptions } from 'cli-table3';

/**
 * The first screen's table style (cli-table3): no borders, a space between columns, the head as the first row. One
 * place, so the workload tables and the capacity tables look alike and fit the same width (boxed, a capacity table
 * was 141 characters wide).
 */
export const BORDERLESS: Pick<TableConstructorOptions, 'chars' | 'style'> = {
  chars: {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: ' ',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '',
  },
  style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
};

/** A rendered borderless table without the spaces cli-table3 pads its last column with. */
export function trimTable(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
