/**
 * The policy as a pure function: (reading, state, now) → decision and next state. No clock, no
 * I/O. The reason is a sentence for logs and the status endpoint.
 */
import { formatDuration } from './duration.js';
import type { Policy } from './schema.js';

export interface PolicyInput {
  readonly intensity: number;
  readonly unit: string;
  /** True when the reading is older than `stale_after` (or there is none: pass undefined). */
  readonly stale: boolean;
  readonly ageSeconds: number;
}

export interface Decision {
  readonly rho: number;
  readonly pause: boolean;
  readonly reason: string;
}

export interface PolicyState {
  readonly rho: number | undefined;
  readonly pause: boolean;
  /** When the current ρ was set (ms since epoch). */
  readonly since: number;
}

export const INITIAL_STATE: PolicyState = { rho: undefined, pause: false, since: 0 };

/** ρ from the intensity map alone. */
export function mapIntensity(p: Policy, intensity: number): number {
  const m = p.map;
  if (m.type === 'steps')
    return (m.steps.find((s) => s.below === undefined || intensity < s.below) ?? m.steps.at(-1)!).rho;
  const pts = m.points;
  if (intensity <= pts[0]![0]) return pts[0]![1];
  for (let i = 1; i < pts.length; i++) {
    const [x1, y1] = pts[i]!;
    const [x0, y0] = pts[i - 1]!;
    if (intensity <= x1) return y0 + ((y1 - y0) * (intensity - x0)) / (x1 - x0);
  }
  return pts.at(-1)![1];
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function activeWindow(p: Policy, now: Date) {
  const minutes = now.getUTCHours() * 60 + now.getUTCMinutes();
  const at = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  return p.windows.find((w) => {
    if (w.days && !w.days.includes(DAYS[now.getUTCDay()]!)) return false;
    const from = at(w.from);
    const to = at(w.to);
    return from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  });
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function evaluatePolicy(
  p: Policy,
  input: PolicyInput | undefined,
  state: PolicyState,
  now: Date,
): { decision: Decision; state: PolicyState } {
  const t = now.getTime();
  const set = (rho: number, pause: boolean, reason: string) => {
    const changed = rho !== state.rho;
    return { decision: { rho, pause, reason }, state: { rho, pause, since: changed ? t : state.since } };
  };
  if (!input || input.stale) {
    const why = input
      ? `carbon data is stale (${Math.round(input.ageSeconds / 60)} min old)`
      : 'no carbon data yet';
    const w = p.when_stale;
    if (w === 'hold')
      return set(
        state.rho ?? p.rho_max,
        state.pause,
        `${why} → holding ρ ${state.rho ?? p.rho_max} (when_stale: hold)`,
      );
    if ('pause' in w) return set(state.rho ?? p.rho_max, true, `${why} → pause (when_stale)`);
    return set(w.rho, false, `${why} → ρ ${w.rho} (when_stale)`);
  }
  const g = input.intensity;
  const u = input.unit === 'percentile' ? '' : ' g/kWh';
  const window = activeWindow(p, now);
  if (window?.pause)
    return set(state.rho ?? p.rho_max, true, `window ${window.from}–${window.to} UTC → pause`);
  const resumeBelow = p.resume_below ?? p.pause_above;
  if (p.pause_above !== undefined) {
    if (g >= p.pause_above)
      return set(state.rho ?? p.rho_max, true, `intensity ${g}${u} ≥ pause_above ${p.pause_above} → pause`);
    if (state.pause && resumeBelow !== undefined && g >= resumeBelow)
      return set(
        state.rho ?? p.rho_max,
        true,
        `intensity ${g}${u} not yet below resume_below ${resumeBelow} → still paused`,
      );
  }
  const lo = window?.rho_min ?? p.rho_min;
  const hi = window?.rho_max ?? p.rho_max;
  const mapped = round(mapIntensity(p, g));
  const target = Math.min(hi, Math.max(lo, mapped));
  const bounded =
    target !== mapped
      ? ` (bounded to [${lo}, ${hi}]${window ? ` by window ${window.from}–${window.to}` : ''})`
      : '';
  const resumed = state.pause ? 'resume; ' : '';
  if (state.rho !== undefined && !state.pause) {
    if (Math.abs(target - state.rho) < p.hysteresis && target >= lo && state.rho >= lo && state.rho <= hi)
      return set(
        state.rho,
        false,
        `intensity ${g}${u} → ρ ${target}, within hysteresis ${p.hysteresis} of ${state.rho}: keep ρ ${state.rho}`,
      );
    const left = state.since + p.min_dwell - t;
    if (target !== state.rho && left > 0 && state.rho >= lo && state.rho <= hi)
      return set(
        state.rho,
        false,
        `intensity ${g}${u} → ρ ${target}, but ρ ${state.rho} holds for min_dwell (${formatDuration(left)} left)`,
      );
  }
  return set(target, false, `${resumed}intensity ${g}${u} → ρ ${target}${bounded}`);
}
