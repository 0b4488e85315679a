/** Number and table formatting for the CLI. */

/** 1234567 -> '1.23 M'; with a unit: '1.58 GMAC'. */
export function human(n: number, unit = ''): string {
  const steps: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, prefix] of steps) {
    if (Math.abs(n) >= scale) return `${(n / scale).toFixed(n / scale >= 100 ? 1 : 2)} ${prefix}${unit}`;
  }
  const text = Number.isInteger(n) ? String(n) : n.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** Bytes as MB / GB (powers of 1000, as disk and GPU tools print). */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** '1 image', '4 images' ('1 batch', '2 batches' with the plural given). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** A shape as [1, 3, 224, 224]. */
export function shape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** Left-aligned text columns, numeric columns right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
