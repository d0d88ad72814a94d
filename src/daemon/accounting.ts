/**
 * Turns the trainer's reports and the meter's readings into metrics and the job's status.
 *
 * Energy: the meter is read on the daemon's timer, at every phase the trainer reports (load,
 * train, select, eval, checkpoint, idle) and whenever a new carbon reading arrives, so each
 * interval between two reads lies within one phase and one intensity. Its joules go to that
 * phase (`greentrainer_energy_joules_total{phase}`) and its CO2e is joules × the intensity in
 * force when it began. The estimate, which measures nothing, charges each step's and each
 * re-selection's modelled energy to `train` and `select` as the trainer reports them.
 *
 * Avoided CO2e = (energy full fine-tuning of the same steps would have drawn − energy drawn for
 * training and selection), priced at the intensity during those steps. Full fine-tuning is
 * assumed to draw train energy × full ÷ trained FLOPs (of the steps ending in the interval, or
 * the latest ones); a `select` interval counts against it; eval, checkpoint, load and idle energy
 * is counted and emits, but avoids nothing (full fine-tuning would have drawn it too).
 *
 * Two kinds of sums, kept apart:
 * - `totals` are the job's: restored on every trainer start from its checkpoint (steps, FLOPs)
 *   and the job ledger (energy, CO2e), so a restart of the daemon or the trainer neither resets
 *   nor double-counts them; steps replayed after a crash replace the undone ones, and steps no
 *   daemon accounted (run by an orphaned trainer) are charged at the job's train joules per FLOP.
 * - Prometheus counters are this process's (they start at 0 with the daemon, as counters must).
 *   FLOPs and steps count a step once: a replayed step (at or below the highest step already
 *   counted here) adds nothing to them. Energy and CO2e count what the meter saw, replays
 *   included: that energy was drawn. The avoided counter follows this process's running net sum,
 *   rising when it rises (a counter cannot fall while a re-selection is charged against it).
 */
import {
  type EnergyMeter,
  type EnergySample,
  energyBetween,
  isModelled,
  type Work,
} from '../energy/meter.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  PHASES,
  type Phase,
  type RunEvent,
  type RunReport,
  type SelectionReport,
  savedRatio,
} from '../train/run-events.js';
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
  /** What the trainer is doing, as far as energy is charged. */
  phase: Phase;
}

export interface Totals {
  steps: number;
  flops: number;
  flopsFull: number;
  /** Modeled FLOPs of the re-selections' importance passes. */
  selectionFlops: number;
  energyJoules: number;
  energyByPhase: Record<Phase, number>;
  emissionsGrams: number;
  avoidedGrams: number;
}

const byPhase = (): Record<Phase, number> =>
  Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;

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
    phase: 'load',
  };
  readonly totals: Totals = {
    steps: 0,
    flops: 0,
    flopsFull: 0,
    selectionFlops: 0,
    energyJoules: 0,
    energyByPhase: byPhase(),
    emissionsGrams: 0,
    avoidedGrams: 0,
  };
  /** The last reading and the intensity in force when it was taken (g/kWh, if known). */
  private last: { sample: EnergySample; intensity: number | undefined } | undefined;
  /** FLOPs of the steps that ended in the current interval; full ÷ trained of the latest ones. */
  private pending = { flops: 0, full: 0 };
  private fullPerTrained = 1;
  /** This process's train-phase energy and time, and the executed FLOPs of its steps. */
  private readonly train = { joules: 0, flops: 0 };
  /** Train joules since the previous step event (the run log's per-step figure). */
  private trainSinceStep = 0;
  /** This process's net avoided CO2e, and how much of it the counter holds. */
  private avoidedHere = 0;
  private avoidedCounted = 0;
  /** The highest step this process has counted into the Prometheus counters. */
  private counted = 0;
  /** FLOPs of the job's steps and re-selections no daemon metered, until they are charged (see `restore`). */
  private unmetered: { flops: number; full: number; selection: number } | undefined;

  constructor(
    private readonly run: string,
    private readonly metrics: Metrics,
    private meter: EnergyMeter,
    /** g/kWh in force now, or undefined when no usable reading exists. */
    private readonly intensity: () => number | undefined,
    private readonly now: () => Date = () => new Date(),
    /** Where the job's energy and CO2e totals persist (none: they start at 0 with the daemon). */
    private readonly ledger?: JobLedger,
  ) {}

  /** Train-phase joules charged between the previous step event and the last one (run log, pace). */
  lastStepJoules = 0;

  get energyMethod(): string {
    return this.meter.method;
  }

  /** Reads the meter and charges the interval since the last read to the phase in force. */
  async sample(): Promise<void> {
    await this.charge(this.job.phase);
  }

  /** The trainer (or the daemon, for a trainer that is not running) entered `phase`. */
  async enter(phase: Phase): Promise<void> {
    try {
      await this.sample();
    } finally {
      // A failed read (nvidia-smi gone) must not leave the next interval charged to the old phase.
      this.job.phase = phase;
    }
  }

  /** Switches meters (auto picks NVML once the trainer reports a GPU): the old one's interval is closed. */
  async useMeter(meter: EnergyMeter): Promise<void> {
    await this.sample();
    this.meter = meter;
    this.last = undefined;
    await this.sample();
  }

  async onEvent(e: RunEvent): Promise<void> {
    const m = this.metrics;
    const run = { run: this.run };
    switch (e.type) {
      case 'phase':
        await this.enter(e.phase);
        break;
      case 'start':
        this.job.step = e.step;
        this.job.totalSteps = e.totalSteps;
        this.restore(e);
        m.progress.set(run, e.totalSteps > 0 ? e.step / e.totalSteps : 0);
        break;
      case 'selection':
        await this.onSelection(e);
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
        await this.enter('idle');
        break;
      default:
        break;
    }
  }

  /**
   * Reads the meter and charges the joules since the last read to `phase`: energy, CO2e at the
   * intensity in force when the interval began, and avoided CO2e for train and select.
   */
  private async charge(phase: Phase): Promise<void> {
    const sample = await this.meter.read();
    const last = this.last;
    this.last = { sample, intensity: this.intensity() };
    if (!last) return;
    let joules = 0;
    for (const [device, j] of energyBetween(last.sample, sample)) {
      this.metrics.energy.inc({ device, method: this.meter.method, phase }, j);
      joules += j;
    }
    const t = this.totals;
    t.energyJoules += joules;
    t.energyByPhase[phase] += joules;
    if (phase === 'train') {
      if (this.pending.flops > 0) this.fullPerTrained = this.pending.full / this.pending.flops;
      this.pending = { flops: 0, full: 0 };
      this.train.joules += joules;
      this.trainSinceStep += joules;
    }
    const g = last.intensity;
    if (g === undefined || joules === 0) return;
    const grams = (joules / JOULES_PER_KWH) * g;
    t.emissionsGrams += grams;
    this.metrics.emissions.inc(grams);
    const avoided = phase === 'train' ? grams * (this.fullPerTrained - 1) : phase === 'select' ? -grams : 0;
    t.avoidedGrams += avoided;
    this.avoidedHere += avoided;
    if (this.avoidedHere > this.avoidedCounted) {
      this.metrics.avoided.inc(this.avoidedHere - this.avoidedCounted);
      this.avoidedCounted = this.avoidedHere;
    }
  }

  /** The estimate's energy for reported work, charged to the phase that did it. */
  private async chargeWork(work: Work, phase: Phase): Promise<void> {
    if (!isModelled(this.meter)) return;
    await this.sample();
    this.meter.charge(work);
    await this.charge(phase);
  }

  private async onSelection(e: SelectionReport): Promise<void> {
    const m = this.metrics;
    const run = { run: this.run };
    this.job.selections++;
    this.job.selection = {
      step: e.step,
      rho: e.rho,
      rhoBp: e.rhoBp,
      tensors: e.tensors,
      depth: e.depth,
      flopsRatio: e.flopsRatio,
      scored: e.scored,
      flops: e.flops,
      ms: e.ms,
    };
    this.job.rhoEffective = e.flopsRatio;
    this.totals.selectionFlops += e.flops;
    // The selection precedes step e.step + 1: a replayed one is not counted again.
    if (e.step >= this.counted) m.selectionFlops.inc(run, e.flops);
    m.selections.inc(run);
    m.selectionDuration.observe(run, e.ms / 1000);
    m.rhoEffective.set(run, e.flopsRatio);
    for (const [layer, f] of Object.entries(e.layers)) m.tensorSelected.set({ run: this.run, layer }, f);
    await this.chargeWork({ executedFlops: e.flops, seconds: e.ms / 1000 }, 'select');
  }

  /**
   * The job's totals at the step a trainer starts from. Steps the ledger has no entry for (run
   * by a trainer after its daemon died) are charged at the job's train joules per FLOP so far
   * and the intensity in force now — or, with no energy on record yet, at the first metered
   * steps' rate.
   */
  private restore(e: Extract<RunEvent, { type: 'start' }>): void {
    const t = this.totals;
    const kept = this.ledger?.rewind(e.step);
    Object.assign(t, {
      steps: e.step,
      flops: e.flops,
      flopsFull: e.fullFlops,
      selectionFlops: e.selectionFlops,
      energyJoules: kept?.energyJoules ?? 0,
      energyByPhase: { ...byPhase(), ...kept?.energyByPhase },
      emissionsGrams: kept?.emissionsGrams ?? 0,
      avoidedGrams: kept?.avoidedGrams ?? 0,
    });
    const flops = e.flops - (kept?.flops ?? 0);
    // An entry written before re-selection was counted has no selection FLOPs: none are charged.
    const selection = e.selectionFlops - (kept ? (kept.selectionFlops ?? e.selectionFlops) : 0);
    this.unmetered =
      flops > 0 || selection > 0
        ? { flops, full: e.fullFlops - (kept?.flopsFull ?? 0), selection }
        : undefined;
    const trainJoules = kept?.energyByPhase?.train ?? kept?.energyJoules ?? 0;
    if (this.unmetered && kept && kept.flops > 0 && trainJoules > 0) {
      this.chargeUnmetered(trainJoules / kept.flops);
      this.record(e.step);
    }
  }

  private chargeUnmetered(joulesPerFlop: number): void {
    const u = this.unmetered;
    if (!u) return;
    this.unmetered = undefined;
    const t = this.totals;
    const joules = joulesPerFlop * u.flops;
    const selectJoules = joulesPerFlop * u.selection;
    t.energyJoules += joules + selectJoules;
    t.energyByPhase.train += joules;
    t.energyByPhase.select += selectJoules;
    const g = this.intensity();
    if (g === undefined) return;
    const grams = (joules / JOULES_PER_KWH) * g;
    const selectGrams = (selectJoules / JOULES_PER_KWH) * g;
    t.emissionsGrams += grams + selectGrams;
    t.avoidedGrams += (u.flops > 0 ? grams * (u.full / u.flops - 1) : 0) - selectGrams;
  }

  private record(step: number): void {
    const t = this.totals;
    this.ledger?.record({
      step,
      flops: t.flops,
      flopsFull: t.flopsFull,
      selectionFlops: t.selectionFlops,
      energyJoules: t.energyJoules,
      energyByPhase: { ...t.energyByPhase },
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
    if (e.step > this.counted) {
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
    this.pending.flops += e.flops;
    this.pending.full += e.fullFlops;
    const work = e.executedFlops ?? e.flops;
    this.train.flops += work;
    await this.chargeWork({ executedFlops: work, seconds: e.seconds }, 'train');
    this.lastStepJoules = this.trainSinceStep;
    this.trainSinceStep = 0;
    if (this.train.joules > 0) this.chargeUnmetered(this.train.joules / this.train.flops);
    this.record(e.step);
  }
}

/** FLOPs saved against full fine-tuning of the job's steps, net of re-selection. */
export function flopsSavedRatio(t: Pick<Totals, 'flops' | 'selectionFlops' | 'flopsFull'>): number {
  return savedRatio(t.flops, t.selectionFlops, t.flopsFull);
}
