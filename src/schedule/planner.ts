/**
 * The deadline planner behind the `budget` map: for every interval until the deadline, run or
 * pause, and ρ, on the execution model (model.ts). Re-planned at every evaluation (receding
 * horizon), so forecast errors are corrected as actual intensities arrive.
 *
 * With run seconds u_k in interval k (0 ≤ u_k ≤ L_k, run first, then paused), S steps left and a
 * run time per step of a + b·ρ (model.ts), any plan's step-weighted mean ρ is (Σu_k/S − a)/b: it
 * depends on the total run time R = Σu_k only, not on which ρ ran where. The job emits P_run·I_k
 * per run second and P_idle·I_k per paused second until its last step (in interval f, which ends
 * when its run does):
 *
 *     CO2e(u) = Σ_{k<f} [u_k·(P_run − P_idle)·I_k + L_k·P_idle·I_k] + u_f·P_run·I_f
 *
 * For a fixed f that is linear in u, so each quality target is a fractional knapsack of
 * identical-value seconds, solved by filling the cheapest seconds first; the plan is the best f:
 * - `min_mean_rho` m: R = S·(a + b·m), the least run time that keeps mean ρ ≥ m; least CO2e;
 * - `budget_g` B: the most run time whose CO2e fits B, capped at the run time of ρ_max.
 * Optimal by the exchange argument; test/schedule/planner.test.ts checks it against exhaustive
 * search. Every run interval uses the same ρ: that is optimal too, and every ρ change costs a
 * re-selection. Behind schedule, ρ is lowered (cheaper, faster steps), never raised; when even
 * ρ_min without pauses cannot finish by the deadline the plan says so and runs at ρ_min throughout.
 */
import type { IntensityCurve } from './intensity-curve.js';
import { type ExecutionModel, JOULES_PER_KWH, rhoForRunSeconds, runSecondsFor } from './model.js';

export type QualityTarget = { readonly minMeanRho: number } | { readonly budgetG: number };

export interface PlanInput {
  /** Epoch ms. */
  readonly now: number;
  readonly deadline: number;
  /** Planning step: intervals end on its multiples (epoch-aligned) and where the intensity changes. */
  readonly intervalMs: number;
  readonly stepsLeft: number;
  readonly model: ExecutionModel;
  /** ρ bounds, already at or above the job's floor. */
  readonly rhoMin: number;
  readonly rhoMax: number;
  readonly intensity: IntensityCurve;
  readonly target: QualityTarget;
}

export interface PlanInterval {
  readonly from: number;
  readonly to: number;
  /** The intensity over the interval (constant within it). */
  readonly intensity: number;
  /** Seconds of run time, at the start of the interval; paused for the rest. */
  readonly runSeconds: number;
}

export interface Plan {
  readonly intervals: readonly PlanInterval[];
  /** The ρ every run interval uses. */
  readonly rho: number;
  /** Total run time R (s). */
  readonly runSeconds: number;
  /** Emissions of the planned run time (g). */
  readonly emissionsG: number;
  /** False when even ρ_min without pauses cannot finish by the deadline. */
  readonly feasible: boolean;
  readonly why: string;
}

export function plan(p: PlanInput): Plan {
  const grid = intervals(p);
  const total = grid.reduce((s, g) => s + seconds(g), 0);
  const need = (rho: number) => runSecondsFor(p.model, p.stepsLeft, rho);
  if (p.stepsLeft <= 0) return done(grid, p.rhoMin, 'the job has no steps left');
  if (need(p.rhoMin) > total)
    return {
      ...done(grid, p.rhoMin, ''),
      intervals: grid.map((g) => ({ ...g, runSeconds: seconds(g) })),
      runSeconds: total,
      emissionsG: planEmissions(
        p.model,
        grid.map((g) => ({ ...g, runSeconds: seconds(g) })),
      ),
      feasible: false,
      why: `${p.stepsLeft} steps need ${hours(need(p.rhoMin))} of run time even at ρ_min ${p.rhoMin}, only ${hours(total)} to the deadline: ρ_min without pausing`,
    };
  if ('minMeanRho' in p.target) {
    const m = Math.min(p.rhoMax, Math.max(p.rhoMin, p.target.minMeanRho));
    if (need(m) > total) {
      const rho = rhoForRunSeconds(p.model, p.stepsLeft, total);
      return fill(
        p,
        grid,
        total,
        rho,
        `behind schedule: ρ lowered from ${m} so that ${p.stepsLeft} steps fit the ${hours(total)} to the deadline`,
      );
    }
    return fill(
      p,
      grid,
      need(m),
      m,
      `${p.stepsLeft} steps at ρ ${m} need ${hours(need(m))} of the ${hours(total)} to the deadline`,
    );
  }
  const budget = p.target.budgetG;
  const runSeconds = sumOf(fillOrder(p, grid, need(p.rhoMax), budget));
  if (runSeconds < need(p.rhoMin)) {
    const least = fill(p, grid, need(p.rhoMin), p.rhoMin, '');
    return {
      ...least,
      why: `${budget} g cannot cover ${p.stepsLeft} steps even at ρ_min ${p.rhoMin} (${Math.ceil(least.emissionsG)} g): ρ_min in the cleanest intervals`,
    };
  }
  const rho = Math.min(p.rhoMax, rhoForRunSeconds(p.model, p.stepsLeft, runSeconds));
  return fill(
    p,
    grid,
    runSeconds,
    rho,
    `${budget} g buy ${hours(runSeconds)} of run time in the cleanest intervals`,
  );
}

/** The plan as spans of the same decision, for `/v1/status` and logs. */
export interface PlanSpan {
  readonly from: number;
  readonly rho: number;
  readonly pause: boolean;
  /** Mean intensity of the interval the span starts in. */
  readonly intensity: number;
}

/** The plan as spans of the same decision, for `/v1/status` and logs; nothing after the last run. */
export function planSpans(plan: Plan): PlanSpan[] {
  const spans: PlanSpan[] = [];
  const last = plan.intervals.findLastIndex((g) => g.runSeconds > 0);
  const push = (from: number, pause: boolean, intensity: number) => {
    if (spans.at(-1)?.pause !== pause) spans.push({ from, rho: plan.rho, pause, intensity });
  };
  for (const [k, g] of plan.intervals.entries()) {
    if (k > last) break;
    if (g.runSeconds > 0) push(g.from, false, g.intensity);
    if (g.runSeconds < seconds(g) && k < last) push(g.from + g.runSeconds * 1000, true, g.intensity);
  }
  return spans;
}

/**
 * [now, deadline) cut at multiples of the interval and wherever the intensity changes, so that
 * every interval has one intensity (running first, then pausing, is then as good as any order).
 */
function intervals(p: PlanInput): PlanInterval[] {
  const cuts = new Set(p.intensity.changesBetween(p.now, p.deadline));
  for (let t = (Math.floor(p.now / p.intervalMs) + 1) * p.intervalMs; t < p.deadline; t += p.intervalMs)
    cuts.add(t);
  const bounds = [p.now, ...[...cuts].sort((a, b) => a - b), p.deadline];
  return bounds.slice(1).map((to, k) => {
    const from = bounds[k]!;
    // One intensity per interval: read it, rather than average it (an integral's rounding would
    // make equal intervals look unequal and break the earlier-first tie).
    return { from, to, intensity: p.intensity.at(from), runSeconds: 0 };
  });
}

const seconds = (g: PlanInterval) => (g.to - g.from) / 1000;

/** 42 s, 36.0 min, 9.5 h. */
function hours(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  return s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

interface Filled {
  readonly u: number[];
  readonly grams: number;
}

/**
 * The cheapest way to fill `runSeconds` (or the most run time `budgetG` buys, up to `runSeconds`):
 * for every last interval f, the cheapest seconds first; the best f wins (least CO2e, or most run
 * time and then least CO2e). O(n²) after one sort.
 */
function fillOrder(
  p: PlanInput,
  grid: readonly PlanInterval[],
  runSeconds: number,
  budgetG = Infinity,
): number[] {
  const byIntensity = grid.map((_, k) => k).sort((i, j) => grid[i]!.intensity - grid[j]!.intensity || i - j);
  let best: Filled | undefined;
  let idle = 0;
  for (let f = 0; f < grid.length; f++) {
    const c = fillUpTo(p, grid, byIntensity, f, runSeconds, budgetG - idle);
    idle += (p.model.powerIdleW * grid[f]!.intensity * seconds(grid[f]!)) / JOULES_PER_KWH;
    if (!c) continue;
    const better =
      !best ||
      (Number.isFinite(budgetG)
        ? sumOf(c.u) > sumOf(best.u) + 1e-9 || (sumOf(c.u) > sumOf(best.u) - 1e-9 && c.grams < best.grams)
        : c.grams < best.grams - 1e-9);
    if (better) best = c;
  }
  return best?.u ?? grid.map(() => 0);
}

const sumOf = (u: readonly number[]) => u.reduce((a, b) => a + b, 0);

/** Intervals 0..f, f last: its seconds cost P_run·I, the others' (P_run − P_idle)·I plus their idle. */
function fillUpTo(
  p: PlanInput,
  grid: readonly PlanInterval[],
  byIntensity: readonly number[],
  f: number,
  runSeconds: number,
  budgetG: number,
): Filled | undefined {
  if (budgetG < 0) return undefined;
  const rate = (k: number) =>
    ((k === f ? p.model.powerRunW : Math.max(0, p.model.powerRunW - p.model.powerIdleW)) *
      grid[k]!.intensity) /
    JOULES_PER_KWH;
  const order = byIntensity.filter((k) => k < f);
  const at = order.findIndex((k) => rate(k) > rate(f));
  order.splice(at < 0 ? order.length : at, 0, f);
  const u = grid.map(() => 0);
  let time = runSeconds;
  let left = budgetG;
  for (const k of order) {
    if (time <= 1e-9 || left <= 0) break;
    const r = rate(k);
    const take = Math.min(seconds(grid[k]!), time, r > 0 ? left / r : Infinity);
    u[k] = take;
    time -= take;
    left -= take * r;
  }
  const finite = Number.isFinite(budgetG);
  if (!finite && time > 1e-6) return undefined;
  const idle = grid
    .slice(0, f)
    .reduce((a, g) => a + (p.model.powerIdleW * g.intensity * seconds(g)) / JOULES_PER_KWH, 0);
  return { u, grams: idle + u.reduce((a, x, k) => a + x * rate(k), 0) };
}

function fill(
  p: PlanInput,
  grid: readonly PlanInterval[],
  runSeconds: number,
  rho: number,
  why: string,
): Plan {
  const u = fillOrder(p, grid, runSeconds);
  return {
    intervals: grid.map((g, k) => ({ ...g, runSeconds: u[k]! })),
    rho,
    runSeconds,
    emissionsG: planEmissions(
      p.model,
      grid.map((g, k) => ({ ...g, runSeconds: u[k]! })),
    ),
    feasible: true,
    why,
  };
}

/** CO2e of a plan: run seconds at P_run, paused seconds at P_idle until the last run ends. */
export function planEmissions(m: ExecutionModel, intervals: readonly PlanInterval[]): number {
  const last = intervals.findLastIndex((g) => g.runSeconds > 0);
  return intervals.reduce((a, g, k) => {
    if (k > last) return a;
    const idle = k < last ? seconds(g) - g.runSeconds : 0;
    return a + ((g.runSeconds * m.powerRunW + idle * m.powerIdleW) * g.intensity) / JOULES_PER_KWH;
  }, 0);
}

function done(grid: readonly PlanInterval[], rho: number, why: string): Plan {
  return { intervals: grid, rho, runSeconds: 0, emissionsG: 0, feasible: true, why };
}
