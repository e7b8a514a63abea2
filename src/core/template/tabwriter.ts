/**
 * A port of Go's text/tabwriter for space padding (flags 0): tab-terminated cells in adjacent
 * lines form a column, padded to its widest cell plus `padding`, but at least `minWidth`. The text
 * after a line's last tab is not part of a column and is never padded. Widths count code points,
 * as Go counts runes.
 */

export interface TabWriterSettings {
  minWidth: number;
  padding: number;
}

/** What Docker uses for its tables: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0). */
export const DOCKER_TABLE: TabWriterSettings = { minWidth: 10, padding: 3 };

interface Cell {
  text: string;
  width: number;
}

export function tabwrite(text: string, settings: TabWriterSettings = DOCKER_TABLE): string {
  const endsWithNewline = text.endsWith('\n');
  const lines: Cell[][] = (endsWithNewline ? text.slice(0, -1) : text)
    .split('\n')
    .map((line) => line.split('\t').map((cell) => ({ text: cell, width: [...cell].length })));
  const widths: number[] = [];
  let out = '';

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      line.forEach((cell, j) => {
        out += cell.text;
        if (j < widths.length) out += ' '.repeat(widths[j]! - cell.width);
      });
      if (i < lines.length - 1 || endsWithNewline) out += '\n';
    }
  };

  // Go's Writer.format: find the blocks of consecutive lines that have a cell in this column, size
  // the column per block, and recurse into the next column within the block.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let from = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(from, i);
      let width = settings.minWidth;
      const blockStart = i;
      for (; i < line1 && column < lines[i]!.length - 1; i++) {
        width = Math.max(width, lines[i]![column]!.width + settings.padding);
      }
      widths.push(width);
      format(blockStart, i);
      widths.pop();
      from = i;
      i--;
    }
    writeLines(from, line1);
  };

  format(0, lines.length);
  return out;
}
