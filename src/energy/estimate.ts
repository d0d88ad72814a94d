/**
 * An energy estimate for machines without a readable power sensor: executed FLOPs × joules per
 * FLOP, or, when a device power is configured, that power × the work's wall time (a TDP ×
 * utilisation estimate with utilisation 1 while the trainer works). A modelled figure, reported as
 * `method="estimate"`: it charges only the work the trainer reports (training steps and
 * re-selections), so evaluation, checkpoints, loading and pauses draw nothing under it.
 */
import type { EnergySample, ModelledMeter, Work } from './meter.js';

export interface EstimateOptions {
  /** Joules per executed FLOP (default `DEFAULT_JOULES_PER_FLOP`). */
  readonly joulesPerFlop?: number;
  /** Average device power while the trainer works, in watts; when set, energy = watts × seconds. */
  readonly watts?: number;
  readonly device?: string;
}

/**
 * The one default joules per FLOP (daemon, CLI, docs): 3e-10 J/FLOP, a recent server CPU core
 * (~50 GFLOP/s at ~15 W). A GPU does far better (an A100 ~1e-12 J/FLOP at its dense peak) but is
 * measured through NVML, so this figure only ever stands in for a CPU without readable RAPL.
 */
export const DEFAULT_JOULES_PER_FLOP = 3e-10;

export class EstimateMeter implements ModelledMeter {
  readonly method = 'estimate' as const;
  private total = 0;

  constructor(private readonly o: EstimateOptions = {}) {}

  charge(work: Work): void {
    this.total +=
      this.o.watts !== undefined
        ? this.o.watts * work.seconds
        : work.executedFlops * (this.o.joulesPerFlop ?? DEFAULT_JOULES_PER_FLOP);
  }

  async read(): Promise<EnergySample> {
    return { joules: new Map([[this.o.device ?? 'cpu', this.total]]) };
  }
}
