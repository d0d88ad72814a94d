import { strict as assert } from 'node:assert';
import { evaluatePolicy, INITIAL_STATE, mapIntensity, type PolicyState } from '../../src/policy/evaluate.js';
import { type Policy, PolicyConfig } from '../../src/policy/schema.js';
import { rng } from '../helpers/random.js';

const policy = (p: object): Policy => PolicyConfig.parse(p);
const LINEAR = {
  type: 'linear',
  points: [
    [100, 1.0],
    [250, 0.6],
    [400, 0.4],
  ],
};
const at = (minutes: number) => new Date(Date.UTC(2026, 5, 1, 12) + minutes * 60_000);
const reading = (intensity: number, stale = false) => ({
  intensity,
  unit: 'gCO2/kWh',
  stale,
  ageSeconds: stale ? 7200 : 60,
});

/** Runs a sequence of intensities, one per minute, and returns the decisions. */
function replay(p: Policy, intensities: number[]) {
  let state: PolicyState = INITIAL_STATE;
  return intensities.map((g, i) => {
    const out = evaluatePolicy(p, reading(g), state, at(i));
    state = out.state;
    return out.decision;
  });
}

describe('policy/evaluate', () => {
  it('maps intensity linearly between points and flat outside, and by steps', () => {
    const p = policy({ map: LINEAR, rho_min: 0.1 });
    assert.equal(mapIntensity(p, 50), 1);
    assert.equal(mapIntensity(p, 175), 0.8);
    assert.equal(mapIntensity(p, 1000), 0.4);
    const s = policy({
      map: { type: 'steps', steps: [{ below: 150, rho: 1 }, { below: 300, rho: 0.6 }, { rho: 0.4 }] },
    });
    assert.deepEqual(
      [100, 150, 299, 300, 900].map((g) => mapIntensity(s, g)),
      [1, 0.6, 0.6, 0.4, 0.4],
    );
  });

  it('says why in a sentence, and bounds ρ by rho_min/rho_max', () => {
    const [d] = replay(policy({ map: LINEAR, rho_min: 0.5 }), [400]);
    assert.equal(d!.rho, 0.5);
    assert.match(d!.reason, /intensity 400 g\/kWh → ρ 0\.5 \(bounded to \[0\.5, 1\]\)/);
  });

  it('hysteresis suppresses flapping on a noisy trace', () => {
    const r = rng(5);
    const noisy = Array.from({ length: 200 }, () => 250 + (r() - 0.5) * 20); // ±10 g around 250 → ρ ≈ 0.6 ± 0.027
    const without = replay(policy({ map: LINEAR, hysteresis: 0 }), noisy);
    const withH = replay(policy({ map: LINEAR, hysteresis: 0.05 }), noisy);
    const changes = (ds: typeof without) => ds.filter((d, i) => i > 0 && d.rho !== ds[i - 1]!.rho).length;
    assert.ok(changes(without) > 100, `without hysteresis: ${changes(without)} changes`);
    assert.equal(changes(withH), 0);
    assert.match(withH[5]!.reason, /within hysteresis 0\.05/);
  });

  it('min_dwell holds a ρ for its time', () => {
    const p = policy({ map: LINEAR, min_dwell: '10m', hysteresis: 0 });
    const ds = replay(p, [100, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    assert.deepEqual(
      ds.slice(0, 10).map((d) => d.rho),
      new Array(10).fill(1),
    );
    assert.match(ds[3]!.reason, /holds for min_dwell \(7 min left\)/);
    assert.equal(ds[10]!.rho, 0.4, 'after 10 minutes the new ρ applies');
  });

  it('pause_above pauses, and resumes below resume_below', () => {
    const p = policy({ map: LINEAR, pause_above: 500, resume_below: 450 });
    const ds = replay(p, [300, 520, 480, 440, 300]);
    assert.deepEqual(
      ds.map((d) => d.pause),
      [false, true, true, false, false],
    );
    assert.match(ds[1]!.reason, /intensity 520 g\/kWh ≥ pause_above 500 → pause/);
    assert.match(ds[3]!.reason, /^resume; intensity 440/);
  });

  it('a stale reading (or none) applies when_stale', () => {
    const p = policy({ map: LINEAR, when_stale: { rho: 0.5 } });
    const stale = evaluatePolicy(p, reading(100, true), INITIAL_STATE, at(0)).decision;
    assert.equal(stale.rho, 0.5);
    assert.match(stale.reason, /carbon data is stale \(120 min old\) → ρ 0\.5 \(when_stale\)/);
    assert.equal(evaluatePolicy(p, undefined, INITIAL_STATE, at(0)).decision.rho, 0.5);
    const pause = policy({ map: LINEAR, when_stale: { pause: true } });
    assert.equal(evaluatePolicy(pause, undefined, INITIAL_STATE, at(0)).decision.pause, true);
    const hold = policy({ map: LINEAR, when_stale: 'hold' });
    const state = { rho: 0.7, pause: false, since: 0 };
    assert.equal(evaluatePolicy(hold, reading(100, true), state, at(0)).decision.rho, 0.7);
  });

  it('time-of-day windows bound ρ or pause (UTC, wrapping midnight)', () => {
    const p = policy({
      map: LINEAR,
      windows: [
        { from: '11:00', to: '13:00', rho_max: 0.6 },
        { from: '23:00', to: '01:00', pause: true },
      ],
    });
    assert.equal(evaluatePolicy(p, reading(50), INITIAL_STATE, at(0)).decision.rho, 0.6);
    assert.equal(evaluatePolicy(p, reading(50), INITIAL_STATE, at(120)).decision.rho, 1);
    assert.equal(evaluatePolicy(p, reading(50), INITIAL_STATE, at(11.5 * 60)).decision.pause, true);
  });
});
