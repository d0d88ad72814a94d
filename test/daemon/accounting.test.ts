import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounting } from '../../src/daemon/accounting.js';
import { JobLedger } from '../../src/daemon/job-ledger.js';
import { EstimateMeter } from '../../src/energy/estimate.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { RunEvent } from '../../src/train/run-events.js';

const start = (step: number, flops: number, fullFlops: number): RunEvent => ({
  type: 'start',
  job: 'j',
  backend: 'cpu',
  step,
  totalSteps: 100,
  flops,
  fullFlops,
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

/** Totals rounded to 12 significant digits (float sums). */
const rounded = (t: object) =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Number((v as number).toPrecision(12))]));

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
    assert.ok(Math.abs((await d.counter('greentrainer_energy_joules_total')) - 5) < 1e-9);
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
      energyJoules: 3,
      emissionsGrams: 3e-4,
      avoidedGrams: 3e-4,
    });
    assert.equal(await d.counter('greentrainer_energy_joules_total'), 1, 'the process metered one step');
  });
});
