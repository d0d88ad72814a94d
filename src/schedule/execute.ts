/**
 * Plays a job forward on the execution model, the way the daemon and its trainer run it: a
 * decision (ρ, pause) is taken at every poll and holds until the next; the trainer runs whole
 * steps back to back, picks up a new ρ or a pause at the next step boundary, and re-selects at
 * the start, every `selectionIntervalSteps` steps and after each ρ change, and checkpoints every
 * `checkpointIntervalSteps`. Energy is P_run while stepping, selecting or checkpointing and P_idle
 * while paused; CO2e integrates it against the intensity curve.
 */
import type { IntensityCurve } from './intensity-curve.js';
import { type ExecutionModel, JOULES_PER_KWH, stepCost, stepSeconds } from './model.js';

export interface Decision {
  readonly rho: number;
  readonly pause: boolean;
}

export interface Progress {
  readonly stepsDone: number;
  readonly stepsLeft: number;
  /** CO2e (g) emitted so far. */
  readonly co2G: number;
}

export interface ExecuteInput {
  readonly model: ExecutionModel;
  readonly steps: number;
  /** Epoch ms. */
  readonly start: number;
  /** No step before this (the trainer is loading); polls go on. Default: `start`. */
  readonly readyAt?: number;
  /** The run stops here whether or not the job is done (the end of the trace). */
  readonly end: number;
  readonly pollMs: number;
  readonly intensity: IntensityCurve;
  readonly decide: (now: number, progress: Progress) => Decision;
}

export interface Execution {
  readonly steps: number;
  /** Epoch ms when the last step ended; undefined when the job did not finish before `end`. */
  readonly finish: number | undefined;
  /** Step-weighted mean ρ. */
  readonly meanRho: number;
  /** Modeled FLOPs of the steps and the re-selections. */
  readonly flops: number;
  readonly energyJ: number;
  readonly co2G: number;
  readonly pausedSeconds: number;
  /** End time (ms) of every step, in order. */
  readonly stepEnds: readonly number[];
  /** Each decision as it was taken (one per poll that changed it). */
  readonly decisions: ReadonlyArray<Decision & { readonly time: number }>;
}

export function execute(x: ExecuteInput): Execution {
  const m = x.model;
  let t = x.start;
  // A poll at the start, then on the poll grid (epoch-aligned, as node-cron fires).
  let nextPoll = x.start;
  let decision: Decision = { rho: 1, pause: false };
  let rhoInUse: number | undefined;
  let warmedUp = false;
  let sinceSelection = 0;
  let flops = 0;
  let energyJ = 0;
  let co2G = 0;
  let pausedSeconds = 0;
  let rhoSum = 0;
  const stepEnds: number[] = [];
  const decisions: Array<Decision & { time: number }> = [];
  const draw = (t0: number, t1: number, watts: number) => {
    energyJ += (watts * (t1 - t0)) / 1000;
    co2G += (watts * x.intensity.integral(t0, t1)) / JOULES_PER_KWH;
  };
  // Every poll due by `t` is taken at its own time, with the steps done by then; the trainer acts
  // on the last one at its next step boundary (the IPC between takes about 10 ms: not modeled).
  const polls = () => {
    for (; nextPoll <= t; nextPoll = (Math.floor(nextPoll / x.pollMs) + 1) * x.pollMs) {
      const d = x.decide(nextPoll, {
        stepsDone: stepEnds.length,
        stepsLeft: x.steps - stepEnds.length,
        co2G,
      });
      const last = decisions.at(-1);
      if (!last || d.rho !== last.rho || d.pause !== last.pause) decisions.push({ ...d, time: nextPoll });
      decision = d;
    }
  };
  /** Where a wait ends: the next poll, or the end. */
  const wake = () => Math.min(nextPoll, x.end);
  while (stepEnds.length < x.steps && t < x.end) {
    polls();
    if (t < (x.readyAt ?? t)) {
      const until = Math.min(wake(), x.readyAt!);
      draw(t, until, m.powerIdleW);
      t = until;
      continue;
    }
    if (decision.pause) {
      const until = wake();
      draw(t, until, m.powerIdleW);
      pausedSeconds += (until - t) / 1000;
      t = until;
      continue;
    }
    if (!warmedUp) {
      // A start's cost includes its first selection (Pace measures them together).
      const t1 = t + (m.startSeconds ?? 0) * 1000;
      draw(t, t1, m.powerRunW);
      t = t1;
      warmedUp = true;
      rhoInUse = decision.rho;
      sinceSelection = 0;
    }
    if (decision.rho !== rhoInUse || sinceSelection >= m.selectionIntervalSteps) {
      const t1 = t + m.selectionSeconds * 1000;
      draw(t, t1, m.powerRunW);
      flops += m.selectionSeconds * m.flopsPerSecond;
      t = t1;
      rhoInUse = decision.rho;
      sinceSelection = 0;
    }
    const t1 = t + stepSeconds(m, rhoInUse) * 1000;
    draw(t, t1, m.powerRunW);
    flops += stepCost(m, rhoInUse) * m.fullStepFlops;
    rhoSum += rhoInUse;
    sinceSelection++;
    stepEnds.push(t1);
    t = t1;
    if (m.checkpointIntervalSteps && stepEnds.length % m.checkpointIntervalSteps === 0) {
      const t2 = t + (m.checkpointSeconds ?? 0) * 1000;
      draw(t, t2, m.powerRunW);
      t = t2;
    }
  }
  const done = stepEnds.length >= x.steps;
  return {
    steps: stepEnds.length,
    finish: done ? (stepEnds.at(-1) ?? x.start) : undefined,
    meanRho: stepEnds.length > 0 ? rhoSum / stepEnds.length : 0,
    flops,
    energyJ,
    co2G,
    pausedSeconds,
    stepEnds,
    decisions,
  };
}
