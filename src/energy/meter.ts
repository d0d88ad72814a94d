/**
 * Energy meters behind one interface (zeus's monitors): each reports the joules used since it
 * opened, by device, and says how it knows (`method`). The daemon reads one on a timer and at
 * every phase change, and charges each interval to the phase it covered.
 *
 * A measuring meter (nvml, rapl) knows nothing of the work; the estimate cannot measure and is
 * told the work instead (`ModelledMeter.charge`).
 */
export type EnergyMethod = 'nvml' | 'rapl' | 'estimate';

export interface EnergySample {
  /** Joules since the meter opened, per device label. */
  readonly joules: ReadonlyMap<string, number>;
}

export interface EnergyMeter {
  readonly method: EnergyMethod;
  /** Cumulative joules per device now. */
  read(): Promise<EnergySample>;
}

/** Work the trainer reported: what a modelled meter turns into joules. */
export interface Work {
  readonly executedFlops: number;
  readonly seconds: number;
}

/** A meter that models energy from the work it is told of rather than measuring it. */
export interface ModelledMeter extends EnergyMeter {
  charge(work: Work): void;
}

export function isModelled(m: EnergyMeter): m is ModelledMeter {
  return typeof (m as Partial<ModelledMeter>).charge === 'function';
}

/** Joules used between two samples, per device (a device missing from `before` counts from 0). */
export function energyBetween(before: EnergySample, after: EnergySample): Map<string, number> {
  const out = new Map<string, number>();
  for (const [device, j] of after.joules) out.set(device, Math.max(0, j - (before.joules.get(device) ?? 0)));
  return out;
}
