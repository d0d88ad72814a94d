import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounting, flopsSavedRatio } from '../../src/daemon/accounting.js';
import { JobLedger } from '../../src/daemon/job-ledger.js';
import { EstimateMeter } from '../../src/energy/estimate.js';
import type { EnergyMeter, EnergySample } from '../../src/energy/meter.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Phase, RunEvent } from '../../src/train/run-events.js';

const start = (step: number, flops: number, fullFlops: number, selectionFlops = 0): RunEvent => ({
  type: 'start',
  job: 'j',
  backend: 'cpu',
  step,
  totalSteps: 100,
  flops,
  fullFlops,
  selectionFlops,
  tensors: 1,
  rhoFloor: 0.1,
  examples: { train: 1, validation: 0, test: 0 },
});
const step = (n: number): RunEvent => ({
  type: 'step',
  step: n,
  totalSteps: 100,
  epoch: 0,
  loss: 1,
  rho: 0.5,
  lr: 1e-3,
  flops: 1e9,
  fullFlops: 2e9,
  seconds: 0.1,
  tokens: 10,
});
const checkpoint = (n: number): RunEvent => ({
  type: 'checkpoint',
  step: n,
  path: `/x/step-${n}`,
  seconds: 0,
  reason: 'interval',
});

/** The numeric totals rounded to 12 significant digits (float sums); energy by phase left out. */
const rounded = (t: object) =>
  Object.fromEntries(
    Object.entries(t)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => [k, Number((v as number).toPrecision(12))]),
  );

/** A daemon's accounting (fresh metrics: a daemon process) over a shared ledger file. */
function daemon(file: string) {
  const metrics = createMetrics();
  const a = new Accounting(
    'j',
    metrics,
    new EstimateMeter({ joulesPerFlop: 1e-9 }),
    () => 360,
    undefined,
    new JobLedger(file).load(),
  );
  const counter = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.reduce((s, v) => s + v.value, 0);
  const feed = async (...es: RunEvent[]) => {
    for (const e of es) await a.onEvent(e);
  };
  return { a, counter, feed };
}

describe('daemon/accounting: job totals across restarts, counters once per step', () => {
  it('a trainer restart rewinds the job totals to its checkpoint; a replayed step is not counted twice', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gt-acc-')), 'job-totals.json');
    const d = daemon(file);
    await d.feed(start(0, 0, 0), step(1), step(2), checkpoint(2), step(3), step(4));
    assert.deepEqual(rounded(d.a.totals), {
      steps: 4,
      flops: 4e9,
      flopsFull: 8e9,
      selectionFlops: 0,
      energyJoules: 4,
      emissionsGrams: 4e-4,
      avoidedGrams: 4e-4,
    });
    // The trainer crashed after step 4 and resumes from its checkpoint at step 2: steps 3-4 again.
    await d.feed(start(2, 2e9, 4e9), step(3), step(4), step(5));
    assert.equal(d.a.totals.steps, 5);
    assert.equal(d.a.totals.flops, 5e9);
    assert.ok(Math.abs(d.a.totals.energyJoules - 5) < 1e-9, `${d.a.totals.energyJoules} J`);
    assert.equal(await d.counter('greentrainer_training_steps_total'), 5, 'steps 3 and 4 counted once');
    assert.equal(await d.counter('greentrainer_training_flops_total'), 5e9);
    // The energy counter holds what was drawn: steps 3 and 4 ran twice.
    assert.ok(Math.abs((await d.counter('greentrainer_energy_joules_total')) - 7) < 1e-9);
  });

  it('a new daemon starts from the job totals of the checkpoint it resumes, its counters from 0', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gt-acc-')), 'job-totals.json');
    const first = daemon(file);
    await first.feed(start(0, 0, 0), step(1), step(2), checkpoint(2), step(3));
    // kill -9 of the daemon; the next one's trainer resumes at the checkpoint (step 2).
    const second = daemon(file);
    await second.feed(start(2, 2e9, 4e9));
    assert.deepEqual(rounded(second.a.totals), {
      steps: 2,
      flops: 2e9,
      flopsFull: 4e9,
      selectionFlops: 0,
      energyJoules: 2,
      emissionsGrams: 2e-4,
      avoidedGrams: 2e-4,
    });
    await second.feed(step(3));
    assert.equal(second.a.totals.flops, 3e9);
    assert.ok(Math.abs(second.a.totals.energyJoules - 3) < 1e-9);
    assert.equal(await second.counter('greentrainer_training_steps_total'), 1, 'process-local');
    // A checkpoint the dead daemon never saw (its orphaned trainer's stop checkpoint at step 4):
    // the newest totals before it stand, and step 4, run unmetered, is charged at the job's
    // joules per FLOP so far (1 J per 1e9 FLOPs) and the intensity now (360 g/kWh).
    const third = daemon(file);
    await third.feed(start(4, 4e9, 8e9));
    assert.deepEqual(rounded(third.a.totals), {
      steps: 4,
      flops: 4e9,
      flopsFull: 8e9,
      selectionFlops: 0,
      energyJoules: 4,
      emissionsGrams: 4e-4,
      avoidedGrams: 4e-4,
    });
    assert.equal(await third.counter('greentrainer_energy_joules_total'), 0, 'not metered by this process');
    // ... and written down: the next daemon resuming at step 4 finds it.
    const fourth = daemon(file);
    await fourth.feed(start(4, 4e9, 8e9));
    assert.equal(rounded(fourth.a.totals).energyJoules, 4);
  });

  it("steps run before any daemon metered one are charged at the first metered step's joules per FLOP", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gt-acc-')), 'job-totals.json');
    // The first daemon died before it accounted a step; its orphan checkpointed at step 2.
    const d = daemon(file);
    await d.feed(start(2, 2e9, 4e9));
    assert.equal(d.a.totals.energyJoules, 0, 'no basis yet');
    await d.feed(step(3));
    assert.deepEqual(rounded(d.a.totals), {
      steps: 3,
      flops: 3e9,
      flopsFull: 6e9,
      selectionFlops: 0,
      energyJoules: 3,
      emissionsGrams: 3e-4,
      avoidedGrams: 3e-4,
    });
    assert.equal(await d.counter('greentrainer_energy_joules_total'), 1, 'the process metered one step');
  });
});

/** A measuring meter whose joules the test sets (one GPU). */
class ScriptedMeter implements EnergyMeter {
  readonly method = 'nvml' as const;
  joules = 0;
  async read(): Promise<EnergySample> {
    return { joules: new Map([['gpu0', this.joules]]) };
  }
}

const phase = (p: Phase): RunEvent => ({ type: 'phase', phase: p });
const selection = (at: number, flops: number): RunEvent => ({
  type: 'selection',
  step: at,
  rho: 0.5,
  rhoBp: 0.3,
  tensors: 3,
  depth: 2,
  flopsRatio: 0.5,
  scored: 4,
  ms: 100,
  selected: ['a', 'b', 'c'],
  layers: { l0: 1 },
  flops,
});

describe('daemon/accounting: re-selections no daemon metered', () => {
  it("an orphan's re-selection is charged to select at the job's training joules per FLOP", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gt-acc-')), 'job-totals.json');
    // The first daemon died before it accounted anything; its orphan selected (0.5e9 FLOPs),
    // ran 2 steps and checkpointed.
    const d = daemon(file);
    await d.feed(start(2, 2e9, 4e9, 0.5e9), step(3));
    assert.deepEqual(rounded(d.a.totals), {
      steps: 3,
      flops: 3e9,
      flopsFull: 6e9,
      selectionFlops: 0.5e9,
      energyJoules: 3.5,
      emissionsGrams: 3.5e-4,
      avoidedGrams: 2.5e-4,
    });
    assert.equal(d.a.totals.energyByPhase.select, 0.5);
    // The next daemon resumes at a checkpoint the ledger has: nothing is charged twice.
    await d.feed(checkpoint(3));
    const next = daemon(file);
    await next.feed(start(3, 3e9, 6e9, 0.5e9));
    assert.equal(rounded(next.a.totals).energyJoules, 3.5);
  });
});

describe('daemon/accounting: energy by phase, priced while it is drawn', () => {
  const J_PER_KWH = 3.6e6;

  async function scripted() {
    const metrics = createMetrics();
    const meter = new ScriptedMeter();
    const clock = { g: 100 as number | undefined };
    const a = new Accounting('j', metrics, meter, () => clock.g);
    const values = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values;
    const byPhase = async (p: Phase) =>
      (await values('greentrainer_energy_joules_total'))
        .filter((v) => v.labels.phase === p)
        .reduce((s, v) => s + v.value, 0);
    const total = async (name: string) => (await values(name)).reduce((s, v) => s + v.value, 0);
    /** The meter draws `joules`. */
    const draw = (joules: number) => {
      meter.joules += joules;
    };
    await a.onEvent(start(0, 0, 0));
    await a.sample();
    return { a, clock, draw, byPhase, total };
  }

  it('a pause is charged to idle at the intensity that paused it; eval to eval; nothing idle is avoided', async () => {
    const { a, clock, draw, byPhase, total } = await scripted();
    await a.onEvent(phase('eval'));
    draw(50);
    await a.onEvent(phase('train'));
    draw(100);
    await a.onEvent(step(1)); // 1e9 trained of 2e9 full: full fine-tuning would have drawn twice as much
    await a.sample(); // the timer
    // A dirty reading (500 g/kWh) pauses training: the daemon reads the meter when the reading
    // arrives, the trainer reports idle at its next step boundary.
    clock.g = 500;
    await a.sample();
    draw(10);
    await a.onEvent(phase('idle'));
    draw(40);
    await a.sample(); // the timer, during the pause
    draw(20);
    // Clean again (100 g/kWh): read at the reading, then the trainer resumes.
    clock.g = 100;
    await a.sample();
    await a.onEvent(phase('train'));
    const t = a.totals;
    assert.deepEqual(t.energyByPhase, { load: 0, train: 110, select: 0, eval: 50, checkpoint: 0, idle: 60 });
    assert.equal(await byPhase('idle'), 60);
    assert.equal(await byPhase('eval'), 50);
    assert.equal(await byPhase('train'), 110);
    const grams = (joules: number, g: number) => (joules / J_PER_KWH) * g;
    const emitted = grams(50, 100) + grams(100, 100) + grams(10, 500) + grams(60, 500);
    assert.ok(Math.abs(t.emissionsGrams - emitted) < 1e-12, `${t.emissionsGrams} vs ${emitted}`);
    // Had the pause been priced at the resume's intensity, it would be grams(60, 100).
    assert.ok(Math.abs((await total('greentrainer_emissions_grams_total')) - emitted) < 1e-12);
    const avoided = grams(100, 100) + grams(10, 500);
    assert.ok(Math.abs(t.avoidedGrams - avoided) < 1e-12, `${t.avoidedGrams} vs ${avoided}`);
  });

  it('re-selection: its FLOPs are counted and netted from FLOPs saved, its energy from avoided CO2e', async () => {
    const { a, draw, byPhase, total } = await scripted();
    const full = 2e9;
    const selections = [0.7e9, 0.45e9];
    await a.onEvent(phase('select'));
    draw(30);
    await a.onEvent(phase('train'));
    await a.onEvent(selection(0, selections[0]!));
    for (let n = 1; n <= 4; n++) {
      draw(25);
      await a.onEvent(step(n));
    }
    await a.onEvent(phase('select'));
    draw(20);
    await a.onEvent(phase('train'));
    await a.onEvent(selection(4, selections[1]!));
    draw(25);
    await a.onEvent(step(5));
    await a.sample();
    const t = a.totals;
    const trained = 5 * 1e9;
    const sel = selections[0]! + selections[1]!;
    assert.equal(t.selectionFlops, sel);
    assert.equal(await total('greentrainer_selection_flops_total'), sel);
    const expected = (5 * full - trained - sel) / (5 * full);
    assert.ok(Math.abs(flopsSavedRatio(t) - expected) < 1e-9, `${flopsSavedRatio(t)} vs ${expected}`);
    assert.equal(await byPhase('select'), 50);
    assert.equal(await byPhase('train'), 125);
    // Full fine-tuning of the 5 steps: 250 J; drawn for them: 125 J training + 50 J selection.
    const avoided = ((250 - 125 - 50) / J_PER_KWH) * 100;
    assert.ok(Math.abs(t.avoidedGrams - avoided) < 1e-12, `${t.avoidedGrams} vs ${avoided}`);
    assert.ok(Math.abs((await total('greentrainer_emissions_avoided_grams_total')) - avoided) < 1e-12);
  });

  it("the estimate charges a step's FLOPs to train and a selection's to select", async () => {
    const metrics = createMetrics();
    const a = new Accounting('j', metrics, new EstimateMeter({ joulesPerFlop: 1e-9 }), () => 360);
    await a.onEvent(start(0, 0, 0));
    await a.onEvent(phase('select'));
    await a.onEvent(phase('train'));
    await a.onEvent(selection(0, 0.5e9));
    await a.onEvent(step(1));
    await a.onEvent(phase('eval'));
    await a.sample();
    assert.deepEqual(a.totals.energyByPhase, {
      load: 0,
      train: 1,
      select: 0.5,
      eval: 0,
      checkpoint: 0,
      idle: 0,
    });
  });

  it('switching meters closes the old interval and measures the next from the new baseline', async () => {
    const metrics = createMetrics();
    const before = new EstimateMeter({ joulesPerFlop: 1e-9 });
    const a = new Accounting('j', metrics, before, () => 100);
    await a.onEvent(start(0, 0, 0));
    await a.onEvent(phase('train'));
    await a.onEvent(step(1));
    const gpu = new ScriptedMeter();
    gpu.joules = 1e6; // joules since the driver loaded: none of them this job's
    await a.useMeter(gpu);
    gpu.joules += 7;
    await a.sample();
    assert.equal(a.energyMethod, 'nvml');
    assert.equal(a.totals.energyJoules, 8);
  });
});
