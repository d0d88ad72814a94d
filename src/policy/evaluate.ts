/**
 * The policy evaluator: a pure function `(reading, state, now) → { decision, state }`. No clock,
 * I/O or logger: the daemon calls it on every poll and logs `decision.reason`, a sentence such as
 * "intensity 312 g/kWh ≥ 300 → ρ 0.5". Order of rules: stale data (`when_stale`), pause above a
 * threshold (with its own resume level), pausing windows, the map (with hysteresis), the ρ bounds
 * (narrowed by active windows), then `min_dwell`. Pausing and stale fallbacks act at once; only
 * ρ changes wait for the dwell time.
 */
import type { Reading } from '../carbon/reading.js';
import type { Plan } from '../schedule/planner.js';
import { chooseBudget, type JobProgress } from './budget.js';
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
  /** Budget map: the deadline, fixed at the first evaluation. */
  readonly deadline?: Date;
}

export interface EvaluateOptions {
  /** Budget map: the steps left and the job's execution model; without them it cannot plan. */
  readonly job?: JobProgress;
}

export interface Evaluation {
  readonly decision: Decision;
  readonly state: PolicyState;
  /** Budget map: the plan behind the decision. */
  readonly plan?: Plan;
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
): Evaluation {
  const first = state.evaluatedAt === undefined;
  const s = { ...state, ...fixDeadline(policy, state, now), evaluatedAt: now };
  let plan: Plan | undefined;
  const finish = (rho: number, pause: boolean, reason: string): Evaluation => {
    const changed = !first && rho !== s.rho;
    const next: PolicyState = { ...s, rho, paused: pause, ...(changed ? { changedAt: now } : {}) };
    return { decision: { rho, pause, reason }, state: next, ...(plan ? { plan } : {}) };
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
  let target: { rho: number; why: string };
  if (policy.map.type === 'budget') {
    if (!options.job)
      target = {
        rho: clamp(policy.map.min_mean_rho ?? 1),
        why: `intensity ${round(reading.intensity)} g/kWh; the job's speed is not measured yet (it is from its first steps)`,
      };
    else {
      const b = chooseBudget(policy.map, reading, options.job, now, s.deadline!, { lo, hi });
      plan = b.plan;
      if (b.pause) return finish(s.rho, true, `${b.why} → pause`);
      target = { rho: b.rho, why: b.why };
    }
  } else target = chooseRho(policy, reading, s, clamp, first);
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
  clamp: (rho: number) => number,
  first: boolean,
): { rho: number; why: string } {
  const map = policy.map as Exclude<Policy['map'], { type: 'budget' }>;
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

/** Budget map: a relative deadline counts from the first evaluation and then stays fixed. */
function fixDeadline(policy: Policy, s: PolicyState, now: Date): Pick<PolicyState, 'deadline'> {
  const map = policy.map;
  if (map.type !== 'budget' || s.deadline) return {};
  const d = map.deadline;
  return { deadline: typeof d === 'string' ? new Date(d) : new Date(now.getTime() + d) };
}
