/**
 * `policy simulate --from-run DIR`: what a finished (or running) daemon run tells the simulator —
 * the machine's measured execution model, the steps the job had, when the trainer was ready, the
 * trace's replay clock — and what really happened, for the comparison.
 */
import type { Trace } from '../carbon/trace-file.js';
import type { RunLogRecord } from '../daemon/run-log.js';
import { replayedTrace } from '../policy/simulate.js';
import type { IntensityCurve } from '../schedule/intensity-curve.js';
import type { ExecutionModel } from '../schedule/model.js';
import { JOULES_PER_KWH } from '../schedule/model.js';
import { Pace, START_STEPS } from '../schedule/pace.js';

export interface RunMeasurement {
  readonly model: ExecutionModel;
  readonly steps: number;
  /** The daemon's first decision: where the simulation starts. */
  readonly start: Date;
  /** The trainer's start (after its evaluation 'before', if any): no step comes sooner. */
  readonly readyAt: Date;
  /** The trace in the run's wall clock (replay origin and speed from the log), if it replayed one. */
  readonly trace: Trace;
  readonly stepEnds: readonly number[];
  readonly stepJoules: readonly number[];
  readonly finish: number | undefined;
  readonly meanRho: number;
  readonly flops: number;
  readonly energyJ: number;
  readonly pausedSeconds: number;
  /**
   * The steps whose time is the machine's pace alone: each one's wall time since the step before
   * it (what the model is fitted on: the step, its checkpoint, the processes' own overhead, the
   * host's stalls), not across a pause or a start, and not for the first START_STEPS after a start
   * (warm-up), nor a selection's step and the audited one after it (the model charges those).
   */
  readonly plainSteps: ReadonlyArray<{
    readonly end: number;
    readonly rho: number;
    readonly seconds: number;
  }>;
}

type Of<T extends RunLogRecord['type']> = Extract<RunLogRecord, { type: T }>;

export function measureRun(
  records: readonly RunLogRecord[],
  trace: Trace,
  priors: { powerIdleW: number; powerRunW: number },
): RunMeasurement {
  const start = records.find((r): r is Of<'start'> => r.type === 'start');
  if (!start) throw new Error('the run log has no trainer start: the trainer never ran');
  const at = (r: RunLogRecord) => Date.parse(r.time);
  const pace = new Pace(Number.MAX_SAFE_INTEGER);
  let paused = false;
  let pausedSince: number | undefined;
  const pauses: Array<[number, number]> = [];
  const steps: Of<'step'>[] = [];
  let ready = at(start);
  const plainSteps: Array<{ end: number; rho: number; seconds: number }> = [];
  let notPlain = 0;
  /** The end of the step before, while steps run back to back. */
  let previousEnd: number | undefined;
  for (const r of records) {
    if (r.type === 'start') {
      pace.restart(at(r));
      notPlain = START_STEPS;
      previousEnd = undefined;
    } else if (r.type === 'evaluation' && r.when === 'before' && at(r) >= at(start)) {
      pace.restart(at(r));
      previousEnd = undefined;
      if (steps.length === 0) ready = at(r);
    } else if (r.type === 'selection') {
      pace.selection(r.seconds, r.rho, r.ratio);
      notPlain = Math.max(notPlain, 2);
    } else if (r.type === 'step' && at(r) >= at(start)) {
      steps.push(r);
      if (notPlain > 0) notPlain--;
      else if (previousEnd !== undefined)
        plainSteps.push({ end: at(r), rho: r.rho, seconds: (at(r) - previousEnd) / 1000 });
      previousEnd = at(r);
      pace.step(at(r), { flops: r.flops, fullFlops: r.full_flops, joules: r.joules });
    } else if (r.type === 'decision' && r.pause !== paused) {
      paused = r.pause;
      previousEnd = undefined;
      pace.break();
      if (paused) pausedSince = at(r);
      else if (pausedSince !== undefined) pauses.push([pausedSince, at(r)]);
    }
  }
  const model = pace.model({
    rhoFloor: start.rho_floor,
    selectionIntervalSteps: start.interval_steps,
    checkpointIntervalSteps: start.checkpoint_steps,
    ...priors,
  });
  if (!model) throw new Error(`the run log has ${steps.length} steps: too few to measure the machine`);
  const replay = records.filter((r): r is Of<'trace'> => r.type === 'trace' && at(r) <= at(start)).at(-1);
  const firstDecision = records.find((r) => r.type === 'decision');
  const total = start.total_steps - start.step;
  const stepEnds = steps.map(at);
  if (paused && pausedSince !== undefined) pauses.push([pausedSince, Number.POSITIVE_INFINITY]);
  // Paused time counts while the job had steps left: until its last step.
  const lastStep = stepEnds.at(-1) ?? at(start);
  const pausedSeconds = pauses.reduce(
    (a, [from, to]) => a + Math.max(0, Math.min(to, lastStep) - from) / 1000,
    0,
  );
  return {
    model,
    steps: total,
    start: new Date(firstDecision ? Math.min(at(firstDecision), at(start)) : at(start)),
    readyAt: new Date(ready),
    trace: replay ? replayedTrace(trace, new Date(replay.time), replay.speed) : trace,
    stepEnds,
    stepJoules: steps.map((s) => s.joules),
    finish: steps.length >= total ? stepEnds.at(-1) : undefined,
    meanRho: steps.length > 0 ? steps.reduce((a, s) => a + s.rho, 0) / steps.length : 0,
    flops: steps.reduce((a, s) => a + s.flops, 0),
    energyJ: steps.reduce((a, s) => a + s.joules, 0),
    pausedSeconds,
    plainSteps,
  };
}

/**
 * The machine's pace in each interval [from, to): the mean over its plain steps of the step's wall
 * time ÷ the run's mean at that ρ (1: the run's mean pace, which is what the fitted model assumes;
 * 1.2: steps took 20 % longer). What no model of the trainer predicts: other load, clocks, the
 * host, a slow disk under the checkpoints. Relative to each ρ's own mean, it does not absorb an
 * error in c(ρ); without the steps around pauses, starts and selections, none in their costs.
 * Undefined for an interval with fewer than `min` plain steps.
 */
export function machinePace(
  m: RunMeasurement,
  rows: ReadonlyArray<{ readonly from: number; readonly to: number }>,
  min = 10,
): Array<number | undefined> {
  const byRho = new Map<number, { sum: number; n: number }>();
  for (const s of m.plainSteps) {
    const a = byRho.get(s.rho) ?? { sum: 0, n: 0 };
    byRho.set(s.rho, { sum: a.sum + s.seconds, n: a.n + 1 });
  }
  return rows.map(({ from, to }) => {
    const inside = m.plainSteps.filter((s) => s.end >= from && s.end < to);
    if (inside.length < min) return undefined;
    const ratio = (s: { rho: number; seconds: number }) => {
      const a = byRho.get(s.rho)!;
      return s.seconds / (a.sum / a.n);
    };
    return inside.reduce((acc, s) => acc + ratio(s), 0) / inside.length;
  });
}

/** CO2e of the measured steps' energy at the intensity in force when each ended. */
export function measuredCo2G(m: RunMeasurement, curve: IntensityCurve): number {
  return m.stepEnds.reduce((a, t, k) => a + (m.stepJoules[k]! * curve.at(t)) / JOULES_PER_KWH, 0);
}
