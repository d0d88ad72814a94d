/** Plain-text tables and number formats for human-readable command output. */

export type Align = 'left' | 'right';

export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

const UNITS = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 1.234e13 → "12.34 TFLOP". */
export function formatFlops(flops: number): string {
  let v = flops;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${UNITS[u]}FLOP`;
}

/** 0.3061 → "30.6 %". */
export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)} %`;
}
