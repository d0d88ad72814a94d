/**
 * An energy estimate for machines without a power sensor: executed FLOPs × joules per FLOP, or,
 * when a device power is configured, that power × the step's wall time (a TDP × utilisation
 * estimate with utilisation 1 while a step runs). Reported as `method="estimate"`.
 */
import type { EnergyMeter, EnergySample, StepWork } from './meter.js';

export interface EstimateOptions {
  /** Joules per executed FLOP (default 3e-10: a recent server CPU core, ~50 GFLOP/s at ~15 W). */
  readonly joulesPerFlop?: number;
  /** Average device power while training, in watts; when set, energy = watts × step time. */
  readonly watts?: number;
  readonly device?: string;
}

export const DEFAULT_JOULES_PER_FLOP = 3e-10;

export class EstimateMeter implements EnergyMeter {
  readonly method = 'estimate' as const;
  private total = 0;

  constructor(private readonly o: EstimateOptions = {}) {}

  async sample(work: StepWork): Promise<EnergySample> {
    this.total +=
      this.o.watts !== undefined
        ? this.o.watts * work.seconds
        : work.executedFlops * (this.o.joulesPerFlop ?? DEFAULT_JOULES_PER_FLOP);
    return { joules: new Map([[this.o.device ?? 'cpu', this.total]]) };
  }
}
