/** Where a command writes: results on `out`, progress and errors on `err`, as Unix tools do. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether `err` is a terminal, where a progress line can be redrawn in place. */
  readonly errIsTerminal: boolean;
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream;
  readonly now: () => number;
}

/** A duration for people: `850ms`, `41s`, `3m 2s`, `5h 12m`, `2d 3h`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(abs)}ms`;
  const seconds = Math.floor(abs / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return pair(minutes, 'm', seconds % 60, 's');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return pair(hours, 'h', minutes % 60, 'm');
  return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

function pair(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit} ${small}${smallUnit}`;
}

/** Rows as aligned columns, headers first; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** JSON as the AWS CLI prints it: two-space indent, a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Makes a free text fit one line of a table. */
export function oneLine(text: string, maxChars = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat;
}

/** A progress line on stderr, redrawn in place on a terminal and silent elsewhere (logs, pipes, tests). */
export class Progress {
  private shown = false;

  constructor(private readonly io: Pick<Io, 'err' | 'errIsTerminal'>) {}

  update(text: string): void {
    if (!this.io.errIsTerminal) return;
    this.io.err(`\r${text}\u001b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.io.err('\r\u001b[K');
    this.shown = false;
  }
}
