/**
 * Rehearsing a policy on a trace: every trace point is a poll, the decision holds until the next
 * one, and the trainer executes ρ × `flopsPerSecond` FLOPs per second (none while paused). Energy
 * is FLOPs × `joulesPerFlop`, emissions energy × intensity. Two baselines: constant ρ = 1 (full
 * fine-tuning all along, or until the job is done), and the policy's own total FLOPs spread evenly
 * over the same span (what carbon awareness adds beyond doing less work).
 */
import type { ForecastPoint, Reading } from '../carbon/reading.js';
import type { Trace } from '../carbon/trace-file.js';
import { type Decision, evaluate, initialState } from './evaluate.js';
import type { Policy } from './schema.js';

export interface SimulateOptions {
  /** Full fine-tuning FLOPs of the job; unset runs for the whole trace. */
  readonly jobFlops?: number;
  /** FLOPs per second at ρ = 1. */
  readonly flopsPerSecond: number;
  /** Energy per FLOP (J), including the rest of the server. */
  readonly joulesPerFlop: number;
  /** How far ahead the replay shows the policy (a perfect forecast from the trace). */
  readonly forecastHours: number;
}

export interface SimulationStep {
  readonly time: Date;
  readonly intensity: number;
  readonly decision: Decision;
  readonly flops: number;
  readonly emissionsG: number;
}

export interface Totals {
  readonly flops: number;
  readonly emissionsG: number;
}

export interface Simulation {
  readonly steps: readonly SimulationStep[];
  readonly policy: Totals;
  readonly full: Totals;
  readonly even: Totals;
  /** When the job's FLOPs were done (undefined without a job, or when it did not finish). */
  readonly finishedAt?: Date;
  readonly deadline?: Date;
}

const J_PER_KWH = 3.6e6;

export function simulate(policy: Policy, trace: Trace, o: SimulateOptions): Simulation {
  const points = trace.points;
  const durations = points.map(
    (p, k) => ((points[k + 1] ?? points[k - 1]!).time.getTime() - p.time.getTime()) / 1000,
  );
  durations[durations.length - 1] = Math.abs(durations.at(-1)!);
  if (policy.map.type === 'budget' && o.jobFlops === undefined && policy.map.job_flops === undefined)
    throw new RangeError('budget policy: job_flops is not set (give it in the policy or with --job-flops)');
  let state = initialState(policy);
  let remaining = o.jobFlops ?? Number.POSITIVE_INFINITY;
  let finishedAt: Date | undefined;
  const steps: SimulationStep[] = points.map((p, k) => {
    const reading = readingAt(trace, k, o.forecastHours);
    const result = evaluate(
      policy,
      reading,
      state,
      p.time,
      o.jobFlops === undefined ? {} : { jobFlops: o.jobFlops },
    );
    state = result.state;
    const rate = result.decision.pause ? 0 : result.decision.rho * o.flopsPerSecond;
    const flops = Math.min(remaining, rate * durations[k]!);
    remaining -= flops;
    if (remaining <= 0 && finishedAt === undefined)
      finishedAt = new Date(p.time.getTime() + (rate > 0 ? (flops / rate) * 1000 : 0));
    return {
      time: p.time,
      intensity: p.intensity,
      decision: result.decision,
      flops,
      emissionsG: emissions(flops, p.intensity, o),
    };
  });
  const total = sum(steps);
  const full = schedule(points, durations, o, () => 1, o.jobFlops);
  const spanEnd = state.deadline ?? new Date(points.at(-1)!.time.getTime() + durations.at(-1)! * 1000);
  const spanS = durations.reduce(
    (s, d, k) => s + Math.max(0, Math.min(d, (spanEnd.getTime() - points[k]!.time.getTime()) / 1000)),
    0,
  );
  const evenRho = total.flops / (o.flopsPerSecond * spanS);
  const even = schedule(points, durations, o, (k) => (points[k]!.time < spanEnd ? evenRho : 0), total.flops);
  return {
    steps,
    policy: total,
    full,
    even,
    ...(finishedAt ? { finishedAt } : {}),
    ...(state.deadline ? { deadline: state.deadline } : {}),
  };
}

function readingAt(trace: Trace, k: number, forecastHours: number): Reading {
  const p = trace.points[k]!;
  const until = p.time.getTime() + forecastHours * 3600_000;
  const forecast: ForecastPoint[] = trace.points.slice(k + 1).filter((q) => q.time.getTime() < until);
  return { ...p, unit: trace.unit, kind: trace.kind, region: 'trace', provider: 'trace', forecast };
}

function emissions(flops: number, intensity: number, o: SimulateOptions): number {
  return ((flops * o.joulesPerFlop) / J_PER_KWH) * intensity;
}

/** A baseline: ρ(k) in each interval, until `limit` FLOPs are done. */
function schedule(
  points: readonly ForecastPoint[],
  durations: readonly number[],
  o: SimulateOptions,
  rho: (k: number) => number,
  limit = Number.POSITIVE_INFINITY,
): Totals {
  let left = limit;
  let flops = 0;
  let emissionsG = 0;
  points.forEach((p, k) => {
    const f = Math.min(left, rho(k) * o.flopsPerSecond * durations[k]!);
    left -= f;
    flops += f;
    emissionsG += emissions(f, p.intensity, o);
  });
  return { flops, emissionsG };
}

function sum(steps: readonly SimulationStep[]): Totals {
  return steps.reduce((t, s) => ({ flops: t.flops + s.flops, emissionsG: t.emissionsG + s.emissionsG }), {
    flops: 0,
    emissionsG: 0,
  });
}
