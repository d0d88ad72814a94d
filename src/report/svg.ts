/**
 * Small pieces shared by the hand-written SVG charts (`policy simulate --chart`, the run report):
 * number formatting, escaping, round axis maxima and time ticks. No dependencies.
 */

export const f = (v: number) => v.toFixed(1);
export const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  return Math.ceil(v / step) * step;
}

/** A round axis maximum at or above `v`, for any positive scale (1 when there is nothing to show). */
export function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / step - 1e-9) * step;
}

const TICK_STEPS_S = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

/** At most 10 ticks, on round times. */
export function timeTicks(t0: number, t1: number): number[] {
  const step = (TICK_STEPS_S.find((s) => (t1 - t0) / (s * 1000) <= 10) ?? 7 * 86_400) * 1000;
  const first = Math.ceil(t0 / step) * step;
  return Array.from({ length: Math.floor((t1 - first) / step) + 1 }, (_, k) => first + k * step).filter(
    (t) => t < t1,
  );
}

export function label(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  if (span <= 10 * 60_000) return `${iso.slice(11, 19)}Z`;
  return span <= 2 * 86_400_000 ? `${iso.slice(11, 16)}Z` : iso.slice(0, 10);
}
