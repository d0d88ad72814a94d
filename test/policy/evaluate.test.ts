import { strict as assert } from 'node:assert';
import type { Reading } from '../../src/carbon/reading.js';
import { type Decision, evaluate, initialState, type PolicyState } from '../../src/policy/evaluate.js';
import { type Policy, type PolicyInput, policySchema } from '../../src/policy/schema.js';

const T0 = Date.parse('2026-04-14T00:00:00Z');
const MIN = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MIN);
const reading = (minutes: number, intensity: number, extra: Partial<Reading> = {}): Reading => ({
  time: at(minutes),
  intensity,
  unit: 'gCO2eq/kWh',
  region: 'test',
  provider: 'test',
  kind: 'average',
  ...extra,
});
const policy = (p: Partial<PolicyInput>): Policy =>
  policySchema.parse({
    map: {
      type: 'steps',
      default: 1,
      steps: [
        [200, 0.6],
        [300, 0.4],
      ],
    },
    rho_min: 0.35,
    ...p,
  });

/** Feeds intensities, one every `stepMin` minutes, and returns every decision. */
function run(p: Policy, intensities: readonly (number | Reading | undefined)[], stepMin = 5): Decision[] {
  let state: PolicyState = initialState(p);
  return intensities.map((v, k) => {
    const r = typeof v === 'number' ? reading(k * stepMin, v) : v;
    const out = evaluate(p, r, state, at(k * stepMin));
    state = out.state;
    return out.decision;
  });
}
const changes = (ds: readonly Decision[]) =>
  ds.filter((d, k) => k > 0 && (d.rho !== ds[k - 1]!.rho || d.pause !== ds[k - 1]!.pause)).length;

describe('policy/evaluate', () => {
  it('explains a step decision in one sentence', () => {
    const [d] = run(policy({}), [312]);
    assert.deepEqual(d, { rho: 0.4, pause: false, reason: 'intensity 312 g/kWh ≥ 300 → ρ 0.4' });
  });

  it('interpolates a linear map and bounds it by rho_min', () => {
    const p = policy({
      map: {
        type: 'linear',
        points: [
          [100, 1],
          [200, 0.6],
          [400, 0.2],
        ],
      },
    });
    const [a, b] = run(p, [150, 390]);
    assert.equal(a!.rho, 0.8);
    assert.equal(a!.reason, 'intensity 150 g/kWh between 100 and 200 → ρ 0.8');
    assert.equal(b!.rho, 0.35);
    assert.match(b!.reason, /→ ρ 0.35 \(bounded to \[0.35, 1\]\)$/);
  });

  it('suppresses flapping on a noisy trace around a threshold with hysteresis', () => {
    // Deterministic noise of ±12 g/kWh around the 200 g/kWh step, then a clear rise.
    const noisy = Array.from({ length: 60 }, (_, k) => 200 + 12 * Math.sin(k * 2.3) * Math.cos(k * 0.7));
    const trace = [...noisy, 260, 262, 258];
    const without = run(policy({ hysteresis: 0 }), trace);
    const withH = run(policy({ hysteresis: 0.08 }), trace);
    assert.ok(changes(without) >= 10, `no hysteresis flaps: ${changes(without)}`);
    assert.ok(changes(withH) <= 2, `hysteresis holds: ${changes(withH)}`);
    assert.equal(withH.at(-1)!.rho, 0.6, 'a real rise still gets through');
    assert.ok(withH.some((d) => /within 8 % hysteresis of ρ/.test(d.reason)));
  });

  it('holds a new ρ for min_dwell, then follows the map', () => {
    const p = policy({ min_dwell: '15m' });
    const ds = run(p, [150, 250, 150, 150, 150, 150], 5);
    assert.deepEqual(
      ds.map((d) => d.rho),
      [1, 0.6, 0.6, 0.6, 1, 1],
    );
    assert.equal(ds[2]!.reason, 'intensity 150 g/kWh < 200 → ρ 1, held at ρ 0.6 for min_dwell (10 min left)');
  });

  it('pauses above pause_above and resumes below the resume level', () => {
    const p = policy({ pause_above: 450, hysteresis: 0.1 });
    const ds = run(p, [300, 460, 430, 400, 350]);
    assert.deepEqual(
      ds.map((d) => d.pause),
      [false, true, true, false, false],
    );
    assert.equal(ds[1]!.reason, 'intensity 460 g/kWh ≥ 450 → pause');
    assert.equal(ds[2]!.reason, 'intensity 430 g/kWh ≥ 405 (resume level) → stay paused');
    assert.equal(ds[3]!.reason, 'intensity 400 g/kWh ≥ 300 → ρ 0.4, resume');
  });

  it('applies when_stale to an old, missing or flagged reading', () => {
    const p = policy({ stale_after: '30m', when_stale: { rho: 0.5 } });
    const old = reading(-45, 100);
    const ds = run(p, [old, undefined, reading(10, 100, { stale: true }), 100]);
    assert.deepEqual(
      ds.map((d) => d.rho),
      [0.5, 0.5, 0.5, 1],
    );
    assert.equal(
      ds[0]!.reason,
      'reading from 2026-04-13T23:15:00.000Z is stale (45 min old) → ρ 0.5 (when_stale)',
    );
    assert.equal(ds[1]!.reason, 'no reading → ρ 0.5 (when_stale)');
    const paused = run(policy({ when_stale: { pause: true } }), [250, undefined]);
    assert.deepEqual(
      paused.map((d) => d.pause),
      [false, true],
    );
    const held = run(policy({}), [250, undefined]);
    assert.equal(held[1]!.reason, 'no reading → hold ρ 0.6 (when_stale)');
  });

  it('treats a reading in another unit as missing rather than mixing signals', () => {
    const [d] = run(policy({ when_stale: { rho: 0.7 } }), [reading(0, 96, { unit: 'percentile' })]);
    assert.equal(d!.reason, 'reading in percentile, policy expects gCO2eq/kWh → ρ 0.7 (when_stale)');
  });

  it('pauses in a pausing window and caps ρ in a limiting one, in the policy time zone', () => {
    const p = policy({
      timezone: 'Europe/London',
      windows: [
        { from: '01:00', to: '01:30', pause: true },
        { from: '23:00', to: '02:00', rho_max: 0.7 },
      ],
    });
    // 2026-04-14 is BST (UTC+1): 00:10Z is 01:10 in London, 00:40Z 01:40, 01:10Z 02:10.
    const ds = [10, 40, 70].map((m) => evaluate(p, reading(m, 100), initialState(p), at(m)).decision);
    assert.deepEqual(
      ds.map((d) => [d.pause, d.rho]),
      [
        [true, 1],
        [false, 0.7],
        [false, 1],
      ],
    );
    assert.equal(ds[0]!.reason, 'window 01:00–01:30 → pause');
  });

  it('budget: runs at the quality target until the machine is measured, then pauses for a cleaner forecast interval', () => {
    const budget = policy({ map: { type: 'budget', deadline: '10h', min_mean_rho: 0.6, interval: '1h' } });
    const first = evaluate(budget, reading(0, 300), initialState(budget), at(0));
    assert.deepEqual([first.decision.rho, first.decision.pause], [0.6, false]);
    assert.match(first.decision.reason, /the job's speed is not measured yet/);
    assert.equal(first.state.deadline?.getTime(), at(600).getTime());
    // 100 steps of 36 s at ρ 1 (a full step's FLOPs at 1e12 FLOP/s): 0.6 h at ρ 0.6. The next hour is cleaner.
    const model = {
      fullStepFlops: 36e12,
      flopsPerSecond: 1e12,
      stepOverheadSeconds: 0,
      selectionSeconds: 0,
      selectionIntervalSteps: 1000,
      rhoFloor: 0.3,
      powerRunW: 300,
      powerIdleW: 0,
    };
    const r = {
      ...reading(30, 300),
      forecast: [
        { time: at(60), intensity: 80 },
        { time: at(120), intensity: 300 },
      ],
    };
    const later = evaluate(budget, r, first.state, at(30), { job: { stepsLeft: 100, model, emittedG: 0 } });
    assert.equal(later.decision.pause, true);
    assert.match(
      later.decision.reason,
      /100 steps at ρ 0\.6 need 36\.0 min of the 9\.5 h to the deadline; a cleaner interval comes later → pause/,
    );
    assert.ok(later.plan?.intervals.some((g) => g.runSeconds > 0 && g.intensity === 80));
    // Behind schedule: 0.6 h of work with 0.5 h left lowers ρ (cheaper, faster steps).
    const late = evaluate(budget, reading(570, 300), later.state, at(570), {
      job: { stepsLeft: 100, model, emittedG: 0 },
    });
    assert.equal(late.decision.pause, false);
    assert.equal(late.decision.rho, 0.5);
    assert.match(late.decision.reason, /behind schedule: ρ lowered from 0\.6/);
  });
});
