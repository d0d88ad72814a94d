/**
 * The `budget` map: plans run/pause and ρ until the deadline on the job's execution model
 * (src/schedule/planner.ts) from the current reading and the forecast, and applies the plan's
 * decision for now. Without a forecast the current intensity is assumed to persist; beyond the
 * forecast's horizon, its mean. ρ is rounded down to 0.01 so that a slowly drifting plan does not
 * re-select at every poll (rounding down only finishes sooner).
 */
import type { ForecastPoint, Reading } from '../carbon/reading.js';
import { IntensityCurve } from '../schedule/intensity-curve.js';
import type { ExecutionModel } from '../schedule/model.js';
import { type Plan, plan } from '../schedule/planner.js';
import type { PolicyMap } from './schema.js';

type BudgetMap = Extract<PolicyMap, { type: 'budget' }>;

/** What the planner needs to know of the job: the trainer's count and the measured model. */
export interface JobProgress {
  readonly stepsLeft: number;
  readonly model: ExecutionModel;
  /** CO2e (g) the job has emitted since the policy's first decision: spent from `budget_g`. */
  readonly emittedG: number;
}

export interface BudgetChoice {
  readonly rho: number;
  readonly pause: boolean;
  readonly why: string;
  readonly plan: Plan;
}

export function chooseBudget(
  map: BudgetMap,
  reading: Reading,
  job: JobProgress,
  now: Date,
  deadline: Date,
  bounds: { readonly lo: number; readonly hi: number },
): BudgetChoice {
  const rhoMin = Math.max(bounds.lo, job.model.rhoFloor);
  const p = plan({
    now: now.getTime(),
    deadline: Math.max(deadline.getTime(), now.getTime()),
    intervalMs: map.interval,
    stepsLeft: job.stepsLeft,
    model: job.model,
    rhoMin,
    rhoMax: Math.max(rhoMin, bounds.hi),
    intensity: forecastCurve(reading, now),
    target:
      map.min_mean_rho !== undefined
        ? { minMeanRho: map.min_mean_rho }
        : { budgetG: Math.max(0, map.budget_g! - job.emittedG) },
  });
  const first = p.intervals[0];
  const rho = Math.max(rhoMin, Math.floor(p.rho * 100 + 1e-9) / 100);
  const pause = p.feasible && first !== undefined && first.runSeconds <= 0 && job.stepsLeft > 0;
  const i = `intensity ${Math.round(reading.intensity)} g/kWh`;
  return { rho, pause, why: `${i}; ${p.why}${pause ? '; a cleaner interval comes later' : ''}`, plan: p };
}

/** Now's reading, then the forecast; past its horizon the mean of what is known. */
function forecastCurve(reading: Reading, now: Date): IntensityCurve {
  const ahead = (reading.forecast ?? []).filter((p) => p.time.getTime() > now.getTime());
  const points: ForecastPoint[] = [{ time: now, intensity: reading.intensity }, ...ahead];
  if (ahead.length > 0) {
    const last = ahead.at(-1)!.time.getTime();
    const step = ahead.length > 1 ? last - ahead.at(-2)!.time.getTime() : last - now.getTime();
    const mean = points.reduce((s, p) => s + p.intensity, 0) / points.length;
    points.push({ time: new Date(last + step), intensity: mean });
  }
  return new IntensityCurve(points);
}
