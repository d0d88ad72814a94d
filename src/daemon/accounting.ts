/**
 * Turns the trainer's reports into metrics and the job's status: FLOPs from the FLOPs model per
 * step (with the executed-FLOPs audit beside it), energy from the meter, emissions as energy ×
 * the carbon intensity in force during the step, and avoided emissions against full fine-tuning
 * of the same steps at the same intensity — assuming energy scales with FLOPs (measured energy ×
 * full ÷ selected FLOPs is what full fine-tuning would have drawn).
 */
import type { EnergyMeter } from '../energy/meter.js';
import { type EnergySample, energyBetween } from '../energy/meter.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RunEvent, RunReport, SelectionReport } from '../train/run-events.js';

const JOULES_PER_KWH = 3.6e6;

export interface JobSnapshot {
  step: number;
  totalSteps: number;
  loss: number | null;
  rho: number | null;
  rhoEffective: number | null;
  epoch: number;
  etaSeconds: number | null;
  lastCheckpoint: { step: number; path: string; time: string } | null;
  selection: Omit<SelectionReport, 'type' | 'selected' | 'layers'> | null;
  selections: number;
  executedFlopsRatio: number | null;
  report: RunReport | null;
}

export interface Totals {
  flops: number;
  flopsFull: number;
  energyJoules: number;
  emissionsGrams: number;
  avoidedGrams: number;
}

export class Accounting {
  readonly job: JobSnapshot = {
    step: 0,
    totalSteps: 0,
    loss: null,
    rho: null,
    rhoEffective: null,
    epoch: 0,
    etaSeconds: null,
    lastCheckpoint: null,
    selection: null,
    selections: 0,
    executedFlopsRatio: null,
    report: null,
  };
  readonly totals: Totals = { flops: 0, flopsFull: 0, energyJoules: 0, emissionsGrams: 0, avoidedGrams: 0 };
  private last: EnergySample = { joules: new Map() };

  constructor(
    private readonly run: string,
    private readonly metrics: Metrics,
    private readonly meter: EnergyMeter,
    /** g/kWh in force now, or undefined when no usable reading exists. */
    private readonly intensity: () => number | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Joules the meter charged to the last step. */
  lastStepJoules = 0;

  get energyMethod(): string {
    return this.meter.method;
  }

  async onEvent(e: RunEvent): Promise<void> {
    const m = this.metrics;
    const run = { run: this.run };
    switch (e.type) {
      case 'start':
        this.job.step = e.step;
        this.job.totalSteps = e.totalSteps;
        m.progress.set(run, e.totalSteps > 0 ? e.step / e.totalSteps : 0);
        break;
      case 'selection':
        this.job.selections++;
        this.job.selection = {
          step: e.step,
          rho: e.rho,
          rhoBp: e.rhoBp,
          tensors: e.tensors,
          depth: e.depth,
          flopsRatio: e.flopsRatio,
          ms: e.ms,
        };
        this.job.rhoEffective = e.flopsRatio;
        m.selections.inc(run);
        m.selectionDuration.observe(run, e.ms / 1000);
        m.rhoEffective.set(run, e.flopsRatio);
        for (const [layer, f] of Object.entries(e.layers)) m.tensorSelected.set({ run: this.run, layer }, f);
        break;
      case 'step':
        await this.onStep(e);
        break;
      case 'checkpoint':
        this.job.lastCheckpoint = { step: e.step, path: e.path, time: this.now().toISOString() };
        break;
      case 'done':
        this.job.report = e.report;
        this.job.etaSeconds = 0;
        m.eta.set(run, 0);
        break;
      default:
        break;
    }
  }

  private async onStep(e: Extract<RunEvent, { type: 'step' }>): Promise<void> {
    const m = this.metrics;
    const run = { run: this.run };
    Object.assign(this.job, {
      step: e.step,
      totalSteps: e.totalSteps,
      loss: e.loss,
      rho: e.rho,
      epoch: e.epoch,
    });
    m.flops.inc(run, e.flops);
    m.flopsFull.inc(run, e.fullFlops);
    m.steps.inc(run);
    m.loss.set(run, e.loss);
    m.stepDuration.observe(run, e.seconds);
    this.totals.flops += e.flops;
    this.totals.flopsFull += e.fullFlops;
    if (e.executedFlops !== undefined) {
      this.job.executedFlopsRatio = e.executedFlops / e.flops;
      m.executedRatio.set(run, this.job.executedFlopsRatio);
    }
    m.progress.set(run, e.step / e.totalSteps);

    const sample = await this.meter.sample({ executedFlops: e.executedFlops ?? e.flops, seconds: e.seconds });
    let joules = 0;
    for (const [device, j] of energyBetween(this.last, sample)) {
      m.energy.inc({ device, method: this.meter.method }, j);
      joules += j;
    }
    this.last = sample;
    this.lastStepJoules = joules;
    this.totals.energyJoules += joules;
    const g = this.intensity();
    if (g !== undefined && joules > 0) {
      const grams = (joules / JOULES_PER_KWH) * g;
      const avoided = e.flops > 0 ? grams * (e.fullFlops / e.flops - 1) : 0;
      m.emissions.inc(grams);
      m.avoided.inc(avoided);
      this.totals.emissionsGrams += grams;
      this.totals.avoidedGrams += avoided;
    }
  }
}
