/**
 * Measures the execution model from what a running job reports: the wall time between
 * consecutive steps (gaps across a pause or a restart skipped) against the steps' modeled FLOPs,
 * fitted as t = t₀ + FLOPs/X by least squares; P_run from the joules the meter charged over the
 * same time. A re-selection's cost is what the step holding it and the next one (the trainer
 * audits the step after a selection with the profiler) took beyond their fitted time; the first
 * steps after a start likewise give the warm-up's. The daemon feeds it live; `policy simulate --from-run` feeds
 * it a run's log, so both see the same numbers. Times are parameters (ms), never read here.
 */
import type { ExecutionModel } from './model.js';

export interface Priors {
  readonly rhoFloor: number;
  readonly selectionIntervalSteps: number;
  readonly checkpointIntervalSteps: number;
  readonly powerIdleW: number;
  /** Used until the meter has charged any energy. */
  readonly powerRunW: number;
}

interface Sample {
  readonly seconds: number;
  readonly flops: number;
  readonly fullFlops: number;
  readonly joules: number;
}

/** Fewer steps than this give no model: the first ones after a warm-up still vary a lot. */
const MIN_SAMPLES = 20;
/** Steps after a (re)start that compile kernels and warm caches: not the machine's pace. */
const WARM_UP_STEPS = 5;
/**
 * Steps after a (re)start whose time beyond the fit is the start's cost: kernels keep compiling
 * for a while after the first few (on wasm, steps 6-20 still run ~40 % slow).
 */
export const START_STEPS = 20;
/** Steps after a start before there is a model (the warm-up, then one sample per step). */
export const STEPS_BEFORE_MODEL = WARM_UP_STEPS + MIN_SAMPLES;

export class Pace {
  private samples: Sample[] = [];
  private selections: number[] = [];
  /** (1 − ratio) ÷ (1 − ρ) of the selections below ρ 1 (at 1 every tensor trains: c(1) = 1). */
  private slopes: number[] = [];
  private lastStepEnd: number | undefined;
  private selectionInGap = 0;
  private checkpointInGap = 0;
  private checkpoints: number[] = [];
  /** A re-selection's two steps as they come, then the last few complete ones. */
  private selecting: { seconds: number; flops: number[] } | undefined;
  private selectionWindows: Array<{ seconds: number; flops: number[] }> = [];
  private warmUp = WARM_UP_STEPS;
  /** The current start: when it began, its checkpoints (s) and its first steps' FLOPs. */
  private warming: { start: number; checkpoints: number; flops: number[] } | undefined;
  /** Each warm-up's wall time (s, selections out) and its steps' FLOPs. */
  private warmUps: Array<{ seconds: number; flops: number[] }> = [];

  constructor(private readonly window = 500) {}

  /** Training paused or resumed: the next gap is not a step's time. */
  break(): void {
    this.lastStepEnd = undefined;
    this.selectionInGap = 0;
    this.checkpointInGap = 0;
    this.selecting = undefined;
  }

  /** The trainer (re)started at `atMs`: its first steps warm up. */
  restart(atMs: number): void {
    this.break();
    this.warmUp = WARM_UP_STEPS;
    this.warming = { start: atMs, checkpoints: 0, flops: [] };
  }

  /** A re-selection the trainer reported: its time, its ρ and the modeled FLOPs ratio it chose. */
  selection(seconds: number, rho: number, ratio: number): void {
    this.selections = [...this.selections.slice(-49), seconds];
    this.selectionInGap += seconds;
    if (rho < 1 && ratio > 0) this.slopes = [...this.slopes.slice(-49), (1 - Math.min(1, ratio)) / (1 - rho)];
  }

  /** A checkpoint the trainer wrote after a step: its time is taken out of the next gap. */
  checkpoint(seconds: number): void {
    this.checkpoints = [...this.checkpoints.slice(-49), seconds];
    this.checkpointInGap += seconds;
  }

  step(endMs: number, s: { flops: number; fullFlops: number; joules: number }): void {
    this.startingStep(endMs, s.flops);
    if (this.warmUp > 0) this.warmUp--;
    else if (this.lastStepEnd !== undefined) {
      const seconds = (endMs - this.lastStepEnd) / 1000 - this.checkpointInGap;
      if (this.selectionInGap > 0) this.selecting = { seconds, flops: [s.flops] };
      else if (this.selecting) {
        this.selectionWindows = [
          ...this.selectionWindows.slice(-49),
          { seconds: this.selecting.seconds + seconds, flops: [...this.selecting.flops, s.flops] },
        ];
        this.selecting = undefined;
      } else if (seconds > 0) this.samples = [...this.samples.slice(1 - this.window), { ...s, seconds }];
    }
    this.lastStepEnd = endMs;
    this.selectionInGap = 0;
    this.checkpointInGap = 0;
  }

  /**
   * The first START_STEPS steps after a start, timed from it: their excess over the fit is the
   * start's cost, the first selection (and its audited step) included — a start always selects.
   */
  private startingStep(endMs: number, flops: number): void {
    const w = this.warming;
    if (!w) return;
    w.checkpoints += this.checkpointInGap;
    w.flops.push(flops);
    if (w.flops.length === START_STEPS) {
      this.warmUps = [
        ...this.warmUps.slice(-9),
        { seconds: (endMs - w.start) / 1000 - w.checkpoints, flops: w.flops },
      ];
      this.warming = undefined;
    }
  }

  /** The fitted model, or undefined before enough steps. */
  model(p: Priors): ExecutionModel | undefined {
    const n = this.samples.length;
    if (n < MIN_SAMPLES) return undefined;
    const sum = (f: (s: Sample) => number) => this.samples.reduce((a, s) => a + f(s), 0);
    const seconds = sum((s) => s.seconds);
    const fullStepFlops = sum((s) => s.fullFlops) / n;
    // The affine fit over the FLOPs the job runs: its intercept may be negative (on small models a
    // step at lower ρ saves more time than its FLOPs, frozen blocks skipping the tape), as long as
    // a step at the floor still takes time; else the mean rate.
    const free = linearFit(this.samples.map((s) => [s.flops, s.seconds] as const));
    const fit = free && free.intercept + free.slope * p.rhoFloor * fullStepFlops > 0 ? free : undefined;
    const joules = sum((s) => s.joules);
    const flopsPerSecond = fit ? 1 / fit.slope : sum((s) => s.flops) / seconds;
    const t0 = fit ? fit.intercept : 0;
    // What a start, or a re-selection, costs beyond its steps' fitted time.
    const excess = (w: { seconds: number; flops: number[] }) =>
      w.seconds - w.flops.reduce((a, f) => a + t0 + f / flopsPerSecond, 0);
    const reported = mean(this.selections);
    return {
      fullStepFlops,
      flopsPerSecond,
      stepOverheadSeconds: t0,
      startSeconds: mean(this.warmUps.map(excess)),
      selectionSeconds: this.selectionWindows.length > 0 ? mean(this.selectionWindows.map(excess)) : reported,
      selectionIntervalSteps: p.selectionIntervalSteps,
      checkpointSeconds: mean(this.checkpoints),
      checkpointIntervalSteps: p.checkpointIntervalSteps,
      rhoFloor: p.rhoFloor,
      // At least a little slope: a lower ρ must cost less, or no ρ would meet a deadline.
      ...(this.slopes.length > 0 ? { costSlope: Math.max(0.05, mean(this.slopes)) } : {}),
      powerRunW: joules > 0 ? joules / seconds : p.powerRunW,
      powerIdleW: p.powerIdleW,
    };
  }
}

/** The mean of non-negative costs (0 for none; a negative mean, noise, counts as 0). */
function mean(xs: readonly number[]): number {
  return xs.length > 0 ? Math.max(0, xs.reduce((a, b) => a + b, 0) / xs.length) : 0;
}

/**
 * Least squares y = intercept + slope·x; undefined when the x spread is too small to separate the
 * two (constant ρ) or the fit is unphysical (slope ≤ 0 or intercept < 0): then t₀ = 0, X = ΣF/Σt.
 */
function linearFit(
  points: ReadonlyArray<readonly [number, number]>,
): { slope: number; intercept: number } | undefined {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  if (Math.sqrt(sxx / n) < 0.05 * mx) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  return slope > 0 ? { slope, intercept } : undefined;
}
