/**
 * The `budget` map: choose ρ for every interval until the deadline so that the job's remaining
 * work is done in time with the least expected emissions, then apply the first interval's ρ.
 * Re-planned at every evaluation (receding horizon), so forecast errors are corrected as the
 * actual intensities arrive.
 *
 * Assumptions, stated because the answer is only as good as they are:
 * - work is measured in full fine-tuning FLOPs: at ρ the trainer executes ρ × `flops_per_second`
 *   FLOPs per second of wall time, and the job needs `job_flops` of them in total;
 * - energy is proportional to FLOPs executed, so emissions ∝ Σ intensity × FLOPs;
 * - intensity is constant within an interval and equal to the forecast point at or before its
 *   start; beyond the forecast horizon it is the mean of the forecast (or the current reading);
 * - every interval runs at least at ρ_min (ρ below the floor trains nothing; pausing is left
 *   to `pause_above` and windows).
 * Under these assumptions the problem is a fractional knapsack: fill the cleanest intervals to
 * ρ_max first; it is optimal because the objective and constraint are linear in each ρ.
 */
import type { ForecastPoint } from '../carbon/reading.js';

export interface BudgetInput {
  readonly now: Date;
  readonly deadline: Date;
  /** Full fine-tuning FLOPs still to do. */
  readonly remainingFlops: number;
  readonly flopsPerSecond: number;
  readonly intervalMs: number;
  readonly rhoMin: number;
  readonly rhoMax: number;
  readonly currentIntensity: number;
  readonly forecast: readonly ForecastPoint[];
}

export interface BudgetPlan {
  /** ρ per interval from `now`. */
  readonly rho: readonly number[];
  readonly intensity: readonly number[];
  /** False when even ρ_max everywhere cannot finish by the deadline. */
  readonly feasible: boolean;
}

export function planBudget(b: BudgetInput): BudgetPlan {
  const spanMs = b.deadline.getTime() - b.now.getTime();
  if (spanMs <= 0 || b.remainingFlops <= 0) {
    const done = b.remainingFlops <= 0;
    return { rho: [done ? b.rhoMin : b.rhoMax], intensity: [b.currentIntensity], feasible: done };
  }
  const n = Math.ceil(spanMs / b.intervalMs);
  const seconds = Array.from(
    { length: n },
    (_, k) => Math.min(b.intervalMs, spanMs - k * b.intervalMs) / 1000,
  );
  const intensity = resample(b, n);
  const capacity = (rho: number) => seconds.reduce((s, t) => s + rho * b.flopsPerSecond * t, 0);
  if (capacity(b.rhoMax) <= b.remainingFlops)
    return { rho: seconds.map(() => b.rhoMax), intensity, feasible: false };
  const rho = seconds.map(() => b.rhoMin);
  let extra = b.remainingFlops - capacity(b.rhoMin);
  const order = intensity.map((v, k) => [v, k] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  for (const [, k] of order) {
    if (extra <= 0) break;
    const room = (b.rhoMax - b.rhoMin) * b.flopsPerSecond * seconds[k]!;
    const used = Math.min(room, extra);
    rho[k] = b.rhoMin + used / (b.flopsPerSecond * seconds[k]!);
    extra -= used;
  }
  return { rho, intensity, feasible: true };
}

/** Forecast intensity at the start of each interval; the first interval uses the current reading. */
function resample(b: BudgetInput, n: number): number[] {
  const points = b.forecast.filter((p) => p.time.getTime() > b.now.getTime());
  const mean =
    points.length > 0 ? points.reduce((s, p) => s + p.intensity, 0) / points.length : b.currentIntensity;
  const horizon = points.at(-1)?.time.getTime() ?? b.now.getTime();
  return Array.from({ length: n }, (_, k) => {
    const t = b.now.getTime() + k * b.intervalMs;
    if (k === 0) return b.currentIntensity;
    if (t > horizon + b.intervalMs) return mean;
    return points.findLast((p) => p.time.getTime() <= t)?.intensity ?? b.currentIntensity;
  });
}
