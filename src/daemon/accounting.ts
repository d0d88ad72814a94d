/**
 * Turns the trainer's reports into metrics and the job's status: FLOPs from the FLOPs model per
 * step (with the executed-FLOPs audit beside it), energy from the meter, emissions as energy ×
 * the carbon intensity in force during the step, and avoided emissions against full fine-tuning
 * of the same steps at the same intensity — assuming energy scales with FLOPs (measured energy ×
 * full ÷ selected FLOPs is what full fine-tuning would have drawn).
 *
 * Two kinds of sums, kept apart:
 * - `totals` are the job's: restored on every trainer start from its checkpoint (steps, FLOPs)
 *   and the job ledger (energy, CO2e), so a restart of the daemon or the trainer neither resets
 *   nor double-counts them; steps replayed after a crash replace the undone ones, and steps no
 *   daemon accounted (run by an orphaned trainer) are charged at the job's joules per FLOP.
 * - Prometheus counters are this process's (they start at 0 with the daemon, as counters must),
 *   but a step is counted once: a replayed step (at or below the highest step already counted
 *   here) adds nothing to them.
 */
import type { EnergyMeter } from '../energy/meter.js';
import { type EnergySample, energyBetween } from '../energy/meter.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RunEvent, RunReport, SelectionReport } from '../train/run-events.js';
import type { JobLedger } from './job-ledger.js';

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
  steps: number;
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
  readonly totals: Totals = {
    steps: 0,
    flops: 0,
    flopsFull: 0,
    energyJoules: 0,
    emissionsGrams: 0,
    avoidedGrams: 0,
  };
  private last: EnergySample = { joules: new Map() };
  /** The highest step this process has counted into the Prometheus counters. */
  private counted = 0;
  /** FLOPs of the job's steps no daemon metered, until they are charged (see `restore`). */
  private unmetered: { flops: number; full: number } | undefined;

  constructor(
    private readonly run: string,
    private readonly metrics: Metrics,
    private readonly meter: EnergyMeter,
    /** g/kWh in force now, or undefined when no usable reading exists. */
    private readonly intensity: () => number | undefined,
    private readonly now: () => Date = () => new Date(),
    /** Where the job's energy and CO2e totals persist (none: they start at 0 with the daemon). */
    private readonly ledger?: JobLedger,
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
        this.restore(e);
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
        this.ledger?.checkpoint(e.step);
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

  /**
   * The job's totals at the step a trainer starts from. Steps the ledger has no entry for (run
   * by a trainer after its daemon died) are charged at the job's joules per FLOP so far and the
   * intensity in force now — or, with no energy on record yet, at the next metered step's.
   */
  private restore(e: Extract<RunEvent, { type: 'start' }>): void {
    const t = this.totals;
    const kept = this.ledger?.rewind(e.step);
    Object.assign(t, {
      steps: e.step,
      flops: e.flops,
      flopsFull: e.fullFlops,
      energyJoules: kept?.energyJoules ?? 0,
      emissionsGrams: kept?.emissionsGrams ?? 0,
      avoidedGrams: kept?.avoidedGrams ?? 0,
    });
    const flops = e.flops - (kept?.flops ?? 0);
    this.unmetered = flops > 0 ? { flops, full: e.fullFlops - (kept?.flopsFull ?? 0) } : undefined;
    if (this.unmetered && kept && kept.flops > 0 && kept.energyJoules > 0) {
      this.chargeUnmetered(kept.energyJoules / kept.flops);
      this.record(e.step);
    }
  }

  private chargeUnmetered(joulesPerFlop: number): void {
    const u = this.unmetered;
    if (!u) return;
    this.unmetered = undefined;
    const t = this.totals;
    const joules = joulesPerFlop * u.flops;
    t.energyJoules += joules;
    const g = this.intensity();
    if (g === undefined) return;
    const grams = (joules / JOULES_PER_KWH) * g;
    t.emissionsGrams += grams;
    t.avoidedGrams += grams * (u.full / u.flops - 1);
  }

  private record(step: number): void {
    const t = this.totals;
    this.ledger?.record({
      step,
      flops: t.flops,
      flopsFull: t.flopsFull,
      energyJoules: t.energyJoules,
      emissionsGrams: t.emissionsGrams,
      avoidedGrams: t.avoidedGrams,
    });
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
    const fresh = e.step > this.counted;
    if (fresh) {
      this.counted = e.step;
      m.flops.inc(run, e.flops);
      m.flopsFull.inc(run, e.fullFlops);
      m.steps.inc(run);
    }
    m.loss.set(run, e.loss);
    m.stepDuration.observe(run, e.seconds);
    this.totals.steps = e.step;
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
      if (fresh) m.energy.inc({ device, method: this.meter.method }, j);
      joules += j;
    }
    this.last = sample;
    this.lastStepJoules = joules;
    this.totals.energyJoules += joules;
    const g = this.intensity();
    if (g !== undefined && joules > 0) {
      const grams = (joules / JOULES_PER_KWH) * g;
      const avoided = e.flops > 0 ? grams * (e.fullFlops / e.flops - 1) : 0;
      if (fresh) {
        m.emissions.inc(grams);
        m.avoided.inc(avoided);
      }
      this.totals.emissionsGrams += grams;
      this.totals.avoidedGrams += avoided;
    }
    const work = e.executedFlops ?? e.flops;
    if (joules > 0 && work > 0) this.chargeUnmetered(joules / work);
    this.record(e.step);
  }
}
