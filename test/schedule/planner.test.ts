import { strict as assert } from 'node:assert';
import { IntensityCurve } from '../../src/schedule/intensity-curve.js';
import type { ExecutionModel } from '../../src/schedule/model.js';
import { type Plan, plan, planEmissions, type QualityTarget } from '../../src/schedule/planner.js';
import { rng } from '../helpers/random.js';

const UNIT_MS = 60_000;
/** Each interval is 3 minutes long. */
const L = 3;
const T0 = Date.UTC(2026, 0, 1);

/** A model where one step at ρ takes a + b·ρ seconds of run time (here a = 0: b = F/X = 60 s). */
function model(powerRunW: number, powerIdleW: number): ExecutionModel {
  return {
    fullStepFlops: 60,
    flopsPerSecond: 1,
    stepOverheadSeconds: 0,
    selectionSeconds: 0,
    selectionIntervalSteps: 1_000_000,
    rhoFloor: 0,
    powerRunW,
    powerIdleW,
  };
}

interface Instance {
  readonly intensity: number[];
  readonly model: ExecutionModel;
  readonly steps: number;
  readonly target: QualityTarget;
}

/** 2–5 intervals of L minutes, random intensities and powers; run time on a grid of whole minutes. */
function randomInstance(r: () => number, mode: 'rho' | 'budget'): Instance {
  const n = 2 + Math.floor(r() * 4);
  const intensity = Array.from({ length: n }, () => 50 + Math.floor(r() * 300));
  const m = model(100 + Math.floor(r() * 300), Math.floor(r() * 80));
  // 10 steps at mean ρ j/10 need 10·60·j/10 s = j whole minutes (at most the n·L available).
  const steps = 10;
  const j = 1 + Math.floor(r() * Math.min(10, n * L));
  if (mode === 'rho') return { intensity, model: m, steps, target: { minMeanRho: j / 10 } };
  return { intensity, model: m, steps, target: { budgetG: r() * 3 } };
}

function planFor(i: Instance): Plan {
  const curve = new IntensityCurve(
    i.intensity.map((v, k) => ({ time: new Date(T0 + k * L * UNIT_MS), intensity: v })),
  );
  return plan({
    now: T0,
    deadline: T0 + i.intensity.length * L * UNIT_MS,
    intervalMs: L * UNIT_MS,
    stepsLeft: i.steps,
    model: i.model,
    rhoMin: 0.01,
    rhoMax: 1,
    intensity: curve,
    target: i.target,
  });
}

/** Every vector of whole run minutes per interval, with its true CO2e. */
function* allPlans(i: Instance): Generator<{ minutes: number[]; grams: number }> {
  const n = i.intensity.length;
  const u = Array.from({ length: n }, () => 0);
  for (;;) {
    const intervals = u.map((m, k) => ({
      from: T0 + k * L * UNIT_MS,
      to: T0 + (k + 1) * L * UNIT_MS,
      intensity: i.intensity[k]!,
      runSeconds: m * 60,
    }));
    yield { minutes: [...u], grams: planEmissions(i.model, intervals) };
    let k = 0;
    while (k < n && u[k] === L) u[k++] = 0;
    if (k === n) return;
    u[k]!++;
  }
}

describe('schedule/planner', () => {
  it('equals exhaustive search on 200 random instances that keep a mean ρ (least CO2e)', () => {
    const r = rng(7);
    for (let t = 0; t < 200; t++) {
      const inst = randomInstance(r, 'rho');
      const p = planFor(inst);
      const needMinutes = Math.round((inst.target as { minMeanRho: number }).minMeanRho * 10);
      let best = Number.POSITIVE_INFINITY;
      for (const c of allPlans(inst))
        if (c.minutes.reduce((a, b) => a + b, 0) === needMinutes) best = Math.min(best, c.grams);
      assert.ok(p.feasible && Number.isFinite(best), `instance ${t}`);
      assert.ok(
        Math.abs(p.emissionsG - best) <= 1e-9 * Math.max(1, best),
        `instance ${t}: plan ${p.emissionsG} g, best ${best} g`,
      );
      assert.ok(Math.abs(p.runSeconds - needMinutes * 60) < 1e-6);
    }
  });

  it('equals exhaustive search on 200 random instances with a CO2e budget (most run time)', () => {
    const r = rng(11);
    let checked = 0;
    for (let t = 0; t < 200; t++) {
      const inst = randomInstance(r, 'budget');
      const p = planFor(inst);
      const budget = (inst.target as { budgetG: number }).budgetG;
      let most = -1;
      for (const c of allPlans(inst))
        if (c.grams <= budget + 1e-12)
          most = Math.max(
            most,
            c.minutes.reduce((a, b) => a + b, 0),
          );
      // The planner's run time is continuous; the best whole-minute plan is its floor.
      const whole = p.intervals.reduce((a, g) => a + Math.floor(g.runSeconds / 60 + 1e-9), 0);
      if (!p.why.includes('cannot cover')) {
        assert.equal(Math.min(whole, 10), Math.min(most, 10), `instance ${t}: ${p.why}`);
        assert.ok(p.emissionsG <= budget + 1e-9);
        checked++;
      }
    }
    assert.ok(checked > 100, `${checked} instances checked`);
  });

  it('never gives a higher mean ρ for a tighter deadline', () => {
    const r = rng(3);
    for (let t = 0; t < 100; t++) {
      const inst = randomInstance(r, r() < 0.5 ? 'rho' : 'budget');
      let previous = Number.POSITIVE_INFINITY;
      for (let n = inst.intensity.length; n >= 1; n--) {
        const p = planFor({ ...inst, intensity: inst.intensity.slice(0, n) });
        assert.ok(p.rho <= previous + 1e-9, `instance ${t}, ${n} intervals: ρ ${p.rho} after ${previous}`);
        previous = p.rho;
      }
    }
  });

  it('runs at ρ_min without pausing, and says so, when even that cannot finish by the deadline', () => {
    const p = planFor({
      intensity: [100, 300],
      model: model(300, 0),
      steps: 10,
      target: { minMeanRho: 0.9 },
    });
    // 10 steps at ρ_min 0.01 need 6 s; the deadline is 6 minutes away: feasible. Make it tight:
    const tight = plan({
      now: T0,
      deadline: T0 + 60_000,
      intervalMs: 30_000,
      stepsLeft: 10,
      model: model(300, 0),
      rhoMin: 0.5,
      rhoMax: 1,
      intensity: new IntensityCurve([{ time: new Date(T0), intensity: 100 }]),
      target: { minMeanRho: 0.9 },
    });
    assert.ok(p.feasible);
    assert.equal(tight.feasible, false);
    assert.equal(tight.rho, 0.5);
    assert.ok(tight.intervals.every((g) => g.runSeconds === (g.to - g.from) / 1000));
    assert.match(
      tight.why,
      /^10 steps need 5\.0 min of run time even at ρ_min 0\.5, only 1\.0 min to the deadline: ρ_min without pausing$/,
    );
  });

  it('lowers ρ when behind schedule, never raises it', () => {
    const at = (minutes: number) =>
      plan({
        now: T0,
        deadline: T0 + minutes * 60_000,
        intervalMs: 60_000,
        stepsLeft: 10,
        model: model(300, 0),
        rhoMin: 0.2,
        rhoMax: 1,
        intensity: new IntensityCurve([{ time: new Date(T0), intensity: 100 }]),
        target: { minMeanRho: 0.8 },
      });
    // 10 steps at 0.8 need 8 minutes: with 6 the plan runs throughout at 0.6.
    assert.equal(at(10).rho, 0.8);
    assert.ok(Math.abs(at(6).rho - 0.6) < 1e-12);
    assert.match(at(6).why, /^behind schedule: ρ lowered from 0\.8/);
  });
});
