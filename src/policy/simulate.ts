/**
 * Rehearsing a policy on a trace with the execution model (src/schedule/): every poll the policy
 * sees the trace's point in force (and the trace ahead as a perfect forecast), the trainer runs
 * whole steps back to back at c(ρ)·F/X seconds each, and energy and CO2e integrate P(t)·I(t).
 * Three baselines run the same steps on the same model and trace:
 * - `full`: ρ = 1 from the start, no pauses;
 * - `same_compute`: the policy's step-weighted mean ρ, constant, no pauses (what the policy's
 *   ρ choices alone are worth at equal compute: nothing, unless it pauses);
 * - `shift_only`: ρ = 1, pausing in the dirtiest intervals while it still finishes by the later of
 *   the policy's finish and the deadline (the budget planner at ρ 1); `full` when there is no slack.
 */
import type { ForecastPoint, Reading } from '../carbon/reading.js';
import type { Trace } from '../carbon/trace-file.js';
import { type Execution, execute, type Progress, type Decision as Step } from '../schedule/execute.js';
import { IntensityCurve } from '../schedule/intensity-curve.js';
import type { ExecutionModel } from '../schedule/model.js';
import { STEPS_BEFORE_MODEL } from '../schedule/pace.js';
import { plan } from '../schedule/planner.js';
import { type Decision, evaluate, initialState } from './evaluate.js';
import type { Policy } from './schema.js';

export interface SimulateInput {
  readonly model: ExecutionModel;
  /** Steps the job has left at `start`. */
  readonly steps: number;
  readonly start: Date;
  /** When the trainer can take its first step (after loading); default `start`. */
  readonly readyAt?: Date;
  readonly pollMs: number;
  /** How far ahead the policy sees the trace. */
  readonly forecastHours: number;
}

export interface TimelineEntry {
  readonly time: Date;
  readonly intensity: number;
  readonly decision: Decision;
}

export interface Simulation {
  readonly policy: Execution;
  readonly timeline: readonly TimelineEntry[];
  readonly baselines: {
    readonly full: Execution;
    readonly same_compute: Execution;
    readonly shift_only: Execution;
  };
  readonly start: Date;
  /** Where the trace (and so the simulation) ends. */
  readonly end: Date;
  readonly deadline?: Date;
  /** The trace's point spacing: the intervals that steps are counted in. */
  readonly intervalMs: number;
}

export function simulate(policy: Policy, trace: Trace, x: SimulateInput): Simulation {
  const points = trace.points;
  const intervalMs = medianSpacing(points);
  const end = points.at(-1)!.time.getTime() + intervalMs;
  const curve = new IntensityCurve(points);
  const run = (decide: (now: number, p: Progress) => Step) =>
    execute({
      model: x.model,
      steps: x.steps,
      start: x.start.getTime(),
      ...(x.readyAt ? { readyAt: x.readyAt.getTime() } : {}),
      end,
      pollMs: x.pollMs,
      intensity: curve,
      decide,
    });
  let state = initialState(policy);
  const timeline: TimelineEntry[] = [];
  const policyRun = run((now, p) => {
    const reading = readingAt(trace, now, x.forecastHours);
    // Like the daemon, the policy knows the machine only once the trainer's first steps measured it.
    const known = p.stepsDone >= STEPS_BEFORE_MODEL;
    const r = evaluate(
      policy,
      reading,
      state,
      new Date(now),
      known ? { job: { stepsLeft: p.stepsLeft, model: x.model, emittedG: p.co2G } } : {},
    );
    state = r.state;
    const last = timeline.at(-1)?.decision;
    if (!last || last.rho !== r.decision.rho || last.pause !== r.decision.pause)
      timeline.push({ time: new Date(now), intensity: reading.intensity, decision: r.decision });
    return r.decision;
  });
  const full = run(() => ({ rho: 1, pause: false }));
  const mean = policyRun.meanRho || 1;
  const sameCompute = run(() => ({ rho: mean, pause: false }));
  const by = Math.max(policyRun.finish ?? end, state.deadline?.getTime() ?? 0);
  const shiftOnly = run((now, p) => {
    const q = plan({
      now,
      deadline: Math.max(by, now),
      intervalMs,
      stepsLeft: p.stepsLeft,
      model: x.model,
      rhoMin: 1,
      rhoMax: 1,
      intensity: curve,
      target: { minMeanRho: 1 },
    });
    return { rho: 1, pause: q.feasible && (q.intervals[0]?.runSeconds ?? 1) <= 0 };
  });
  return {
    policy: policyRun,
    timeline,
    baselines: { full, same_compute: sameCompute, shift_only: shiftOnly },
    start: x.start,
    end: new Date(end),
    ...(state.deadline ? { deadline: state.deadline } : {}),
    intervalMs,
  };
}

/** The trace's point in force at `now`, with the points ahead as its forecast. */
function readingAt(trace: Trace, now: number, forecastHours: number): Reading {
  const k = Math.max(
    0,
    trace.points.findLastIndex((p) => p.time.getTime() <= now),
  );
  const until = now + forecastHours * 3600_000;
  const forecast: ForecastPoint[] = trace.points.slice(k + 1).filter((q) => q.time.getTime() < until);
  return {
    ...trace.points[k]!,
    unit: trace.unit,
    kind: trace.kind,
    region: 'trace',
    provider: 'trace',
    forecast,
  };
}

function medianSpacing(points: readonly ForecastPoint[]): number {
  const d = points.slice(1).map((p, k) => p.time.getTime() - points[k]!.time.getTime());
  return d.sort((a, b) => a - b)[Math.floor(d.length / 2)]!;
}

/** A trace replayed `speed`× faster from `origin` (as the trace provider does), in that clock. */
export function replayedTrace(trace: Trace, origin: Date, speed: number): Trace {
  const first = trace.points[0]!.time.getTime();
  return {
    ...trace,
    points: trace.points.map((p) => ({
      time: new Date(origin.getTime() + (p.time.getTime() - first) / speed),
      intensity: p.intensity,
    })),
  };
}

/** Steps that ended in each of the trace's intervals [point k, point k+1) from the one holding `start`. */
export function stepsPerInterval(
  stepEnds: readonly number[],
  trace: Trace,
  start: number,
  end: number,
): Array<{ from: number; to: number; steps: number }> {
  const times = trace.points.map((p) => p.time.getTime());
  const first = Math.max(
    0,
    times.findLastIndex((t) => t <= start),
  );
  const rows = times.slice(first).map((from, k) => ({ from, to: times[first + k + 1] ?? end, steps: 0 }));
  for (const t of stepEnds) {
    const row = rows.find((r) => t >= r.from && t < r.to);
    if (row) row.steps++;
  }
  return rows.filter((r) => r.from < end);
}
