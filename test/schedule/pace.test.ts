import { strict as assert } from 'node:assert';
import { stepCost, stepSeconds } from '../../src/schedule/model.js';
import { Pace, STEPS_BEFORE_MODEL } from '../../src/schedule/pace.js';

const PRIORS = {
  rhoFloor: 0.3,
  selectionIntervalSteps: 50,
  checkpointIntervalSteps: 20,
  powerIdleW: 20,
  powerRunW: 100,
};

describe('schedule/pace', () => {
  it('recovers t₀, X, the re-selection time, P_run and the warm-up cost from step times', () => {
    const pace = new Pace();
    let t = 1_000_000;
    pace.restart(t);
    // Warm-up: 5 steps of 1 s each, whatever their FLOPs.
    for (let k = 0; k < 5; k++) {
      t += 1000;
      pace.step(t, { flops: 1e9, fullFlops: 2e9, joules: 50 });
    }
    const truth = (flops: number) => 0.02 + flops / 1e10; // t₀ 20 ms, X 10 GFLOP/s
    for (let k = 0; k < 60; k++) {
      const flops = k % 2 ? 2e9 : 1e9;
      if (k === 30) {
        pace.selection(0.3, 0.5, 0.48); // reported 0.3 s; the steps around it say 0.5
        t += 500;
      }
      if (k === 40) {
        pace.break(); // paused: this gap is not a step's time
        t += 60_000;
      }
      if (k === 50) {
        pace.checkpoint(0.25); // written after the last step: taken out of this gap
        t += 250;
      }
      const seconds = truth(flops);
      t += seconds * 1000;
      pace.step(t, { flops, fullFlops: 2e9, joules: 100 * seconds });
    }
    const m = pace.model(PRIORS)!;
    assert.ok(Math.abs(m.stepOverheadSeconds - 0.02) < 1e-6, `t₀ ${m.stepOverheadSeconds}`);
    assert.ok(Math.abs(m.flopsPerSecond / 1e10 - 1) < 1e-6, `X ${m.flopsPerSecond}`);
    assert.equal(m.fullStepFlops, 2e9);
    // The step holding the re-selection and the next (audited) one took 0.5 s beyond their fit.
    assert.ok(Math.abs(m.selectionSeconds - 0.5) < 1e-6, `selection ${m.selectionSeconds}`);
    assert.ok(Math.abs(m.powerRunW - 100) < 1e-6);
    assert.equal(m.powerIdleW, 20);
    assert.equal(m.checkpointSeconds, 0.25);
    assert.equal(m.checkpointIntervalSteps, 20);
    // The selector chose 0.48 of full at ρ 0.5: c(ρ) = 1 − 1.04·(1 − ρ), through (0.5, 0.48) and (1, 1).
    assert.ok(Math.abs(m.costSlope! - 1.04) < 1e-12, `slope ${m.costSlope}`);
    // The warm-up took 5 s for steps the model prices at 5 × (0.02 + 0.1) = 0.6 s.
    assert.ok(Math.abs(m.startSeconds! - 4.4) < 1e-6, `start ${m.startSeconds}`);
  });

  it('has no model before the warm-up and enough steps, and falls back to t₀ = 0 at constant FLOPs', () => {
    const pace = new Pace();
    let t = 0;
    pace.restart(t);
    const step = () => {
      t += 100;
      pace.step(t, { flops: 1e9, fullFlops: 2e9, joules: 0 });
    };
    for (let k = 0; k < STEPS_BEFORE_MODEL - 1; k++) step();
    assert.equal(pace.model(PRIORS), undefined);
    step();
    const m = pace.model(PRIORS)!;
    assert.equal(m.stepOverheadSeconds, 0);
    assert.ok(Math.abs(m.flopsPerSecond - 1e10) < 1e-3);
    assert.equal(m.powerRunW, 100, 'no energy metered yet: the prior');
  });

  it('fits a negative t₀ where low-ρ steps save more time than their FLOPs, and prices ρ 1 at a full step', () => {
    // Steps at half the FLOPs take 9 ms, full ones 23 ms (a tiny model on wasm): t = −5 ms + FLOPs / X.
    const run = (t0: number, x: number) => {
      const pace = new Pace();
      let t = 0;
      pace.restart(t);
      for (let k = 0; k < 5; k++) {
        t += 100;
        pace.step(t, { flops: 1e9, fullFlops: 2e9, joules: 0 });
      }
      pace.selection(0.01, 0.5, 0.5);
      for (let k = 0; k < 40; k++) {
        const flops = k % 2 ? 2e9 : 1e9;
        t += 1000 * (t0 + flops / x);
        pace.step(t, { flops, fullFlops: 2e9, joules: 0 });
      }
      return pace;
    };
    const m = run(-0.005, 7.1428e10).model({ ...PRIORS, rhoFloor: 0.45 })!;
    assert.ok(Math.abs(m.stepOverheadSeconds + 0.005) < 1e-6, `t₀ ${m.stepOverheadSeconds}`);
    assert.equal(stepCost(m, 1), 1, 'every tensor trains at ρ 1');
    assert.ok(Math.abs(stepSeconds(m, 1) - 0.023) < 1e-4 && Math.abs(stepSeconds(m, 0.5) - 0.009) < 1e-4);
    // A fit whose step at the floor would take no time is refused: the mean rate instead.
    const g = run(-0.005, 7.1428e10).model({ ...PRIORS, rhoFloor: 0.1 })!;
    assert.equal(g.stepOverheadSeconds, 0);
  });
});
