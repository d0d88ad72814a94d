/**
 * The execution model of a job (DESIGN.md, "How ρ meets the clock"): the one description of how
 * ρ, steps, time, energy and CO2e relate, shared by the budget planner, `policy simulate` and the
 * daemon's ETA and plan. Pure: plain numbers in, plain numbers out.
 *
 * A step at ρ executes c(ρ)·F FLOPs, c(ρ) = max(1 − s·(1 − ρ), floor): exactly F at ρ 1 (every
 * tensor trains), and below it the line through the selections the run made, s being the mean
 * (1 − ratio) ÷ (1 − ρ) of their modeled FLOPs ratios (s = 1: the selector fills its budget
 * exactly, c(ρ) = ρ; it fills 0.99 of it at ρ 0.4 in bench:selective, less on small models,
 * whose tensors are coarse). Steps run back to back, so a step takes
 *
 *     t(ρ) = t₀ + c(ρ)·F / X        seconds   (t₀: what a step costs whatever it trains)
 *
 * plus one re-selection (importance passes + DP, `selectionSeconds`) every `selectionIntervalSteps`
 * steps and at each ρ change, and a checkpoint every `checkpointIntervalSteps`. A lower ρ finishes the same steps sooner: ρ is not a throttle.
 * Power is P_run while the trainer works and P_idle while it is paused; CO2e = ∫ I(t)·P(t) dt.
 */

export interface ExecutionModel {
  /** Modeled FLOPs of one full fine-tuning step at the job's shape (F). */
  readonly fullStepFlops: number;
  /** FLOP/s the machine executes while training (X): the marginal rate of modeled step FLOPs. */
  readonly flopsPerSecond: number;
  /**
   * Seconds a step costs whatever it trains (t₀: data, optimizer, framework), as the intercept of
   * the affine fit over the run's steps; it may be negative where lower ρ saves more time than its
   * FLOPs, but t(floor) > 0.
   */
  readonly stepOverheadSeconds: number;
  /** Seconds a trainer start costs beyond its first steps' modeled time, its first selection included; default 0. */
  readonly startSeconds?: number;
  /** Seconds of one re-selection. */
  readonly selectionSeconds: number;
  /** Steps between scheduled re-selections (`selection.interval_steps`). */
  readonly selectionIntervalSteps: number;
  /** Seconds of one checkpoint, written every `checkpointIntervalSteps` steps (default: none). */
  readonly checkpointSeconds?: number;
  readonly checkpointIntervalSteps?: number;
  /** The job's trainable floor: no step costs less than this fraction of F. */
  readonly rhoFloor: number;
  /** s: the slope of c(ρ) = 1 − s·(1 − ρ), measured from the selections (default 1: c(ρ) = ρ). */
  readonly costSlope?: number;
  /** Watts while training (P_run) and while paused (P_idle). */
  readonly powerRunW: number;
  readonly powerIdleW: number;
}

export const JOULES_PER_KWH = 3.6e6;

/** c(ρ): the fraction of a full step's FLOPs that a step at ρ executes. */
export function stepCost(m: ExecutionModel, rho: number): number {
  return Math.max(1 - (m.costSlope ?? 1) * (1 - rho), m.rhoFloor);
}

/** Run time per step that does not depend on ρ: t₀ with re-selections and checkpoints amortised. */
function fixedSeconds(m: ExecutionModel): number {
  return (
    m.stepOverheadSeconds +
    m.selectionSeconds / m.selectionIntervalSteps +
    (m.checkpointIntervalSteps ? (m.checkpointSeconds ?? 0) / m.checkpointIntervalSteps : 0)
  );
}

/** Seconds of one step at ρ, without re-selections. */
export function stepSeconds(m: ExecutionModel, rho: number): number {
  return m.stepOverheadSeconds + (stepCost(m, rho) * m.fullStepFlops) / m.flopsPerSecond;
}

/**
 * Run time per step as an affine function of ρ, a + b·ρ (ρ ≥ floor), with the scheduled
 * re-selections and checkpoints amortised into a. Because it is affine, the run time of any mix of steps
 * depends only on how many there are and on Σρ: a plan's step-weighted mean ρ is
 * (R/S − a)/b whatever ρ each step ran at — the fact the planner's optimality rests on.
 */
export function runTimeCoefficients(m: ExecutionModel): { a: number; b: number } {
  const s = m.costSlope ?? 1;
  const full = m.fullStepFlops / m.flopsPerSecond;
  return { a: fixedSeconds(m) + (1 - s) * full, b: s * full };
}

/** Seconds of run time that S steps at constant ρ need (re-selections amortised). */
export function runSecondsFor(m: ExecutionModel, steps: number, rho: number): number {
  return steps * (fixedSeconds(m) + (stepCost(m, rho) * m.fullStepFlops) / m.flopsPerSecond);
}

/** The constant ρ at which S steps take R seconds of run time (may lie outside [floor, 1]). */
export function rhoForRunSeconds(m: ExecutionModel, steps: number, runSeconds: number): number {
  const { a, b } = runTimeCoefficients(m);
  return (runSeconds / steps - a) / b;
}
