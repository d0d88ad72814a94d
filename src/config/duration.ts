/**
 * Durations in config files: `90s`, `15m`, `1h30m`, `2d`, or a bare number of seconds.
 * Shared by the carbon and policy configs so that `stale_after: 30m` reads the same everywhere.
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Milliseconds in a duration string, or undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = PART.lastIndex;
  }
  return end === s.length ? total : undefined;
}

/** Ten years: longer durations are typos, and past ~10⁸ days they are no longer valid dates. */
const MAX_DURATION_MS = 3650 * 86_400_000;

/** A zod schema: a duration string or seconds → milliseconds. */
export const durationMs = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 90s, 15m or 1h30m, got '${v}'` });
    return z.NEVER;
  }
  if (!(ms <= MAX_DURATION_MS)) {
    ctx.addIssue({
      code: 'custom',
      message: `a duration must be at most ${formatDurationMs(MAX_DURATION_MS)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** 5400000 → "1h30m". */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || `${ms}ms`;
}
