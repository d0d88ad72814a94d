/** Time-of-day windows: which configured windows are active at an instant, in the policy's zone. */
import type { TimeWindow } from './schema.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** Minutes since midnight and weekday of `now` in `timeZone` (Intl: pure, no process TZ). */
export function localTime(now: Date, timeZone: string): { minutes: number; day: (typeof DAYS)[number] } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = get('weekday').toLowerCase().slice(0, 3) as (typeof DAYS)[number];
  return { minutes: Number(get('hour')) * 60 + Number(get('minute')), day };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Windows covering `now`; `from` is inclusive, `to` exclusive, and `to < from` wraps midnight. */
export function activeWindows(windows: readonly TimeWindow[], now: Date, timeZone: string): TimeWindow[] {
  if (windows.length === 0) return [];
  const { minutes, day } = localTime(now, timeZone);
  return windows.filter((w) => {
    if (w.days && !w.days.includes(day)) return false;
    const from = minutesOf(w.from);
    const to = minutesOf(w.to);
    return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  });
}
