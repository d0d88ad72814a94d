/**
 * The policy evaluator: a pure function `(reading, state, now) → { decision, state }`. No clock,
 * I/O or logger: the daemon calls it on every poll and logs `decision.reason`, a sentence such as
 * "intensity 312 g/kWh ≥ 300 → ρ 0.5". Order of rules: stale data (`when_stale`), pause above a
 * threshold (with its own resume level), pausing windows, the map (with hysteresis), the ρ bounds
 * (narrowed by active windows), then `min_dwell`. Pausing and stale fallbacks act at once; only
 * ρ changes wait for the dwell time.
 */
import type { Reading } from '../carbon/reading.js';
import { planBudget } from './budget.js';
import { mapIntensity, round, unitLabel } from './maps.js';
import type { Policy } from './schema.js';
import { activeWindows } from './windows.js';

export interface Decision {
  /** FLOPs objective for the trainer, in (0, 1]; kept at its last value while paused. */
  readonly rho: number;
  readonly pause: boolean;
  readonly reason: string;
}

export interface PolicyState {
  readonly rho: number;
  readonly paused: boolean;
  /** When ρ last changed (for min_dwell); undefined until it first changes. */
  readonly changedAt?: Date;
  /** When the previous evaluation ran. */
  readonly evaluatedAt?: Date;
  /** Budget map: the deadline fixed at the first evaluation, and full-FT FLOPs still to do. */
  readonly deadline?: Date;
  readonly remainingFlops?: number;
}

export interface EvaluateOptions {
  /** Budget map: overrides `job_flops` at the first evaluation (`--job-flops`). */
  readonly jobFlops?: number;
  /**
   * Budget map: full fine-tuning FLOPs the job still needs, as the trainer counts them (the
   * daemon). Whenever given it replaces the estimate, which otherwise counts ρ × flops_per_second
   * of work for every second since the last evaluation.
   */
  readonly remainingFlops?: number;
}

export function initialState(policy: Policy): PolicyState {
  return { rho: policy.rho_max, paused: false };
}

export function evaluate(
  policy: Policy,
  reading: Reading | undefined,
  state: PolicyState,
  now: Date,
  options: EvaluateOptions = {},
): { decision: Decision; state: PolicyState } {
  const first = state.evaluatedAt === undefined;
  const s = { ...progress(policy, state, now, options), evaluatedAt: now };
  const finish = (rho: number, pause: boolean, reason: string) => {
    const changed = !first && rho !== s.rho;
    const next: PolicyState = { ...s, rho, paused: pause, ...(changed ? { changedAt: now } : {}) };
    return { decision: { rho, pause, reason }, state: next };
  };
  const staleWhy = staleness(policy, reading, now);
  if (staleWhy || !reading) {
    const w = policy.when_stale;
    if ('rho' in w) return finish(w.rho, false, `${staleWhy} → ρ ${round(w.rho)} (when_stale)`);
    if ('pause' in w) return finish(s.rho, true, `${staleWhy} → pause (when_stale)`);
    return finish(
      s.rho,
      s.paused,
      `${staleWhy} → ${s.paused ? 'stay paused' : `hold ρ ${round(s.rho)}`} (when_stale)`,
    );
  }
  const i = `intensity ${round(reading.intensity)} ${unitLabel(policy.unit)}`;
  if (policy.pause_above !== undefined) {
    const resume = policy.resume_below ?? policy.pause_above * (1 - policy.hysteresis);
    if (s.paused && reading.intensity >= resume)
      return finish(s.rho, true, `${i} ≥ ${round(resume)} (resume level) → stay paused`);
    if (!s.paused && reading.intensity >= policy.pause_above)
      return finish(s.rho, true, `${i} ≥ ${policy.pause_above} → pause`);
  }
  const windows = activeWindows(policy.windows, now, policy.timezone);
  const pausing = windows.find((w) => w.pause);
  if (pausing) return finish(s.rho, true, `window ${pausing.from}–${pausing.to} → pause`);
  const lo = Math.max(policy.rho_min, ...windows.map((w) => w.rho_min ?? 0));
  const hi = Math.min(policy.rho_max, ...windows.map((w) => w.rho_max ?? 1));
  const clamp = (rho: number) => Math.min(hi, Math.max(lo, rho));
  const target = chooseRho(policy, reading, s, now, clamp, first);
  const bounded = clamp(target.rho);
  const bounds = bounded === target.rho ? '' : ` (bounded to [${round(lo)}, ${round(hi)}])`;
  const dwellLeft = s.changedAt ? policy.min_dwell - (now.getTime() - s.changedAt.getTime()) : 0;
  if (bounded !== s.rho && dwellLeft > 0 && !s.paused)
    return finish(
      s.rho,
      false,
      `${target.why} → ρ ${round(bounded)}, held at ρ ${round(s.rho)} for min_dwell (${Math.ceil(dwellLeft / 60_000)} min left)`,
    );
  const resumed = s.paused ? ', resume' : '';
  return finish(bounded, false, `${target.why} → ρ ${round(bounded)}${bounds}${resumed}`);
}

/** Why the reading cannot be used, or undefined when it can. */
function staleness(policy: Policy, reading: Reading | undefined, now: Date): string | undefined {
  if (!reading) return 'no reading';
  if (reading.unit !== policy.unit) return `reading in ${reading.unit}, policy expects ${policy.unit}`;
  const ageMs = now.getTime() - reading.time.getTime();
  if (reading.stale || ageMs > policy.stale_after)
    return `reading from ${reading.time.toISOString()} is stale (${Math.round(ageMs / 60_000)} min old)`;
  return undefined;
}

function chooseRho(
  policy: Policy,
  reading: Reading,
  s: PolicyState,
  now: Date,
  clamp: (rho: number) => number,
  first: boolean,
): { rho: number; why: string } {
  const map = policy.map;
  if (map.type === 'budget') {
    if (s.remainingFlops === undefined)
      return {
        rho: clamp(1),
        why: `intensity ${round(reading.intensity)} g/kWh; the job's FLOPs are not known yet (no job_flops; the trainer counts them from its first step)`,
      };
    const plan = planBudget({
      now,
      deadline: s.deadline!,
      remainingFlops: s.remainingFlops,
      flopsPerSecond: map.flops_per_second,
      intervalMs: map.interval,
      rhoMin: clamp(0),
      rhoMax: clamp(1),
      currentIntensity: reading.intensity,
      forecast: reading.forecast ?? [],
    });
    const left = `${(s.remainingFlops / map.flops_per_second / 3600).toFixed(1)} h of full-FT work left`;
    const until = `${((s.deadline!.getTime() - now.getTime()) / 3600_000).toFixed(1)} h to the deadline`;
    const why = plan.feasible ? `${left}, ${until}` : `${left} but only ${until}: cannot finish in time`;
    return { rho: plan.rho[0]!, why: `intensity ${round(reading.intensity)} g/kWh; ${why}` };
  }
  const m = mapIntensity(map, reading.intensity, policy.unit);
  if (first || policy.hysteresis === 0 || s.paused) return m;
  // Schmitt trigger: keep ρ while it is what the map gives somewhere within ±hysteresis of the intensity.
  const high = clamp(mapIntensity(map, reading.intensity * (1 - policy.hysteresis), policy.unit).rho);
  const low = clamp(mapIntensity(map, reading.intensity * (1 + policy.hysteresis), policy.unit).rho);
  if (s.rho >= low && s.rho <= high)
    return {
      rho: s.rho,
      why: `${m.why}, within ${round(policy.hysteresis * 100)} % hysteresis of ρ ${round(s.rho)}`,
    };
  return m;
}

/**
 * Budget map: fix the deadline at the first evaluation; take the work left from the trainer's count
 * when there is one, else from `job_flops` at first and then less the work done since the last.
 */
function progress(policy: Policy, s: PolicyState, now: Date, o: EvaluateOptions): PolicyState {
  const map = policy.map;
  if (map.type !== 'budget') return s;
  const deadline =
    s.deadline ??
    (typeof map.deadline === 'string' ? new Date(map.deadline) : new Date(now.getTime() + map.deadline));
  if (o.remainingFlops !== undefined) return { ...s, deadline, remainingFlops: o.remainingFlops };
  if (s.remainingFlops === undefined) {
    const jobFlops = o.jobFlops ?? map.job_flops;
    return { ...s, deadline, ...(jobFlops === undefined ? {} : { remainingFlops: jobFlops }) };
  }
  const seconds = s.evaluatedAt ? (now.getTime() - s.evaluatedAt.getTime()) / 1000 : 0;
  const done = s.paused ? 0 : s.rho * map.flops_per_second * seconds;
  return { ...s, deadline, remainingFlops: Math.max(0, s.remainingFlops - done) };
}
