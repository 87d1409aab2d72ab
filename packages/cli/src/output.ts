import type { Page } from './types.js';

export interface OutputOptions {
  /** Print the API's JSON instead of human-readable text. */
  json?: boolean;
}

/** A label and a value; null prints as "-". */
export type Field = readonly [label: string, value: string | null];

/** Escapes control characters, so text from the server cannot move the cursor or recolor the terminal. */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (char) => `\\u${char.codePointAt(0)?.toString(16).padStart(4, '0')}`);
}

/** Lays rows out in columns two spaces apart; the last column is not padded. */
export function columns(rows: ReadonlyArray<readonly string[]>): string {
  const cells = rows.map((row) => row.map(printable));
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, length(cell));
    });
  }
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - length(cell))))
        .join('  '),
    )
    .map((line) => `${line}\n`)
    .join('');
}

export function fields(entries: readonly Field[]): string {
  return columns(entries.map(([label, value]) => [`${label}:`, value ?? '-']));
}

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return columns([headers, ...rows]);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints one resource: its JSON, or its fields one per line. */
export function showOne<T>(options: OutputOptions, value: T, describe: (value: T) => readonly Field[]): void {
  if (options.json) printJson(value);
  else process.stdout.write(fields(describe(value)));
}

export interface ListLayout<T> {
  headers: readonly string[];
  row: (item: T) => readonly string[];
  /** What to print when there is nothing, e.g. "no organizations". */
  empty: string;
}

/** Prints a list: the page JSON, or a table (with a hint on stderr when --limit left items out). */
export function showList<T>(options: OutputOptions, page: Page<T>, layout: ListLayout<T>): void {
  if (options.json) {
    printJson(page);
    return;
  }
  if (page.data.length === 0) process.stdout.write(`${layout.empty}\n`);
  else process.stdout.write(table(layout.headers, page.data.map(layout.row)));
  if (page.nextCursor !== null) {
    process.stderr.write(`more results: continue with --cursor ${printable(page.nextCursor)}\n`);
  }
}

/** Confirms an action that has no response body; --json prints nothing (the exit status says it worked). */
export function showDone(options: OutputOptions, message: string): void {
  if (!options.json) process.stdout.write(`${printable(message)}\n`);
}

function length(text: string): number {
  return [...text].length;
}
