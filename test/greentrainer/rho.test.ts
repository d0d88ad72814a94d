import { strict as assert } from 'node:assert';
import { RhoError } from '../../src/greentrainer/errors.js';
import { backwardBudget, earlyStopDepth, rhoFloor, toRhoBp } from '../../src/greentrainer/rho.js';

describe('greentrainer/rho', () => {
  it('converts ρ to ρ_bp with Eq. 13', () => {
    // T_fp/T_bp = 1/2: ρ_bp = 1.5·ρ − 0.5.
    assert.equal(toRhoBp(0.5, 1, 2), 0.25);
    assert.equal(toRhoBp(1, 1, 2), 1);
    assert.ok(Math.abs(toRhoBp(0.7, 1, 2) - 0.55) < 1e-12);
  });

  it('gives the backward budget ρ·T_full − T_fp, which equals ρ_bp·T_bp', () => {
    assert.equal(backwardBudget(0.5, 100, 200), 50);
    assert.ok(Math.abs(backwardBudget(0.7, 100, 200) - toRhoBp(0.7, 100, 200) * 200) < 1e-9);
  });

  it('refuses ρ below the floor T_fp/(T_fp+T_bp), saying what it means', () => {
    assert.equal(rhoFloor(100, 200), 1 / 3);
    assert.throws(
      () => backwardBudget(0.3, 100, 200),
      (e: unknown) =>
        e instanceof RhoError &&
        e.message ===
          "ρ = 0.3 is below this model's floor ρ_min = 0.3333: the forward pass alone costs 33.3 % of full " +
            'fine-tuning, so nothing can be trained; raise ρ to at least 0.3333',
    );
  });

  for (const bad of [0, -0.1, 1.01, Number.NaN]) {
    it(`refuses ρ = ${bad}`, () => {
      assert.throws(() => backwardBudget(bad, 1, 2), {
        name: 'RhoError',
        message: `ρ must be a number in (0, 1], got ${bad}`,
      });
    });
  }

  it('finds the early-stop depth of Eq. 12', () => {
    assert.equal(earlyStopDepth([1, 2, 3, 4], 3), 2);
    assert.equal(earlyStopDepth([1, 2, 3, 4], 2.9), 1);
    assert.equal(earlyStopDepth([1, 2, 3, 4], 100), 4);
    assert.equal(earlyStopDepth([5], 1), 0);
  });
});
