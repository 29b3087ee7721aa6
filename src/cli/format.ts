// Plain-text layouts for human output: aligned tables and key/value blocks.

/** Columns padded to their widest cell; `empty` when there are no rows. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return empty;
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `key: value` lines with the values aligned; list values joined by commas, empty ones shown as "-". */
export function fields(pairs: readonly (readonly [string, string | readonly string[] | number | boolean | Date | null | undefined])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)} ${show(value)}`).join('\n');
}

function show(value: string | readonly string[] | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.length ? value.join(', ') : '-';
  return String(value);
}
