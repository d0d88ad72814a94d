/**
 * Energy meters behind one interface (zeus's monitors): each reports joules used since it
 * started, by device, and says how it knows (`method`). The daemon samples one at every
 * training step and charges the difference to that step.
 */
export type EnergyMethod = 'nvml' | 'rapl' | 'estimate';

export interface EnergySample {
  /** Joules since the meter started, per device label. */
  readonly joules: ReadonlyMap<string, number>;
}

/** What a step did, for meters that estimate rather than measure. */
export interface StepWork {
  readonly executedFlops: number;
  readonly seconds: number;
}

export interface EnergyMeter {
  readonly method: EnergyMethod;
  /** Cumulative joules per device now; `work` is the step just finished. */
  sample(work: StepWork): Promise<EnergySample>;
}

/** Joules used between two samples, per device (a device missing from `before` counts from 0). */
export function energyBetween(before: EnergySample, after: EnergySample): Map<string, number> {
  const out = new Map<string, number>();
  for (const [device, j] of after.joules) out.set(device, Math.max(0, j - (before.joules.get(device) ?? 0)));
  return out;
}
