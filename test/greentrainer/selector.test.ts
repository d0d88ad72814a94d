import { strict as assert } from 'node:assert';
import { SelectionInputError } from '../../src/greentrainer/errors.js';
import { type SelectionProblem, selectionCost, selectTensors } from '../../src/greentrainer/selector.js';
import { rng } from '../helpers/random.js';

/** σ(m) cost written independently of the selector: dy runs down to the deepest selected tensor. */
function referenceCost(p: SelectionProblem, mask: ArrayLike<number>): number {
  let cost = 0;
  let reached = false;
  for (let k = mask.length - 1; k >= 0; k--) {
    reached ||= mask[k] === 1;
    if (reached) cost += p.tDy[k]!;
    if (mask[k] === 1) cost += p.tDw[k]!;
  }
  return cost;
}

/** Best importance over all 2^N masks that fit the budget. */
function exhaustive(p: SelectionProblem): number {
  const n = p.importance.length;
  let best = 0;
  const mask = new Uint8Array(n);
  for (let bits = 1; bits < 1 << n; bits++) {
    let value = 0;
    for (let k = 0; k < n; k++) {
      mask[k] = (bits >>> k) & 1;
      if (mask[k]) value += p.importance[k]!;
    }
    if (value > best && referenceCost(p, mask) <= p.budget) best = value;
  }
  return best;
}

function randomProblem(next: () => number, integral: boolean): SelectionProblem {
  const n = 1 + Math.floor(next() * 14);
  const cost = () => (next() < 0.15 ? 0 : integral ? Math.floor(next() * 40) : next() * 1e12);
  const tDy = Array.from({ length: n }, cost);
  const tDw = Array.from({ length: n }, cost);
  const importance = Array.from({ length: n }, () => (next() < 0.1 ? 0 : next() * 2 - 0.6));
  const total = tDy.reduce((a, b) => a + b, 0) + tDw.reduce((a, b) => a + b, 0);
  const budget = integral ? Math.floor(next() * total) : next() * total;
  return { tDy, tDw, importance, budget };
}

describe('greentrainer/selector', () => {
  it('solves a worked example by hand', () => {
    // Index 0 is nearest the loss. Training tensor 2 costs t_dy[0..2] + t_dw[2] = 3 + 7 = 10.
    const p = { tDy: [0, 2, 1, 4, 0], tDw: [5, 1, 7, 3, 1], importance: [1, 3, 10, 5, 3], budget: 11 };
    const s = selectTensors(p);
    assert.deepEqual(Array.from(s.mask), [0, 1, 1, 0, 0]);
    assert.equal(s.importance, 13);
    assert.equal(s.cost, 11);
    assert.equal(s.deepest, 2);
    assert.equal(s.exact, true);
  });

  it('equals exhaustive search on 600 random integer instances with N ≤ 14', () => {
    const next = rng(20240521);
    for (let i = 0; i < 600; i++) {
      const p = randomProblem(next, true);
      const s = selectTensors(p);
      const best = exhaustive(p);
      assert.ok(s.exact, `instance ${i} should be solved unscaled`);
      assert.ok(Math.abs(s.importance - best) < 1e-9, `instance ${i}: got ${s.importance}, optimum ${best}`);
      assert.ok(s.cost <= p.budget, `instance ${i}: cost ${s.cost} over budget ${p.budget}`);
      assert.equal(s.cost, referenceCost(p, s.mask));
      assert.ok(
        Array.from(s.mask).every((m, k) => !m || p.importance[k]! > 0),
        'only positive tensors are selected',
      );
    }
  });

  it('never exceeds the budget and stays within one resolution unit per tensor of the optimum on real FLOPs', () => {
    const next = rng(7);
    for (let i = 0; i < 300; i++) {
      const p = randomProblem(next, false);
      const resolution = 200;
      const s = selectTensors({ ...p, resolution });
      assert.ok(s.cost <= p.budget, `instance ${i}: cost ${s.cost} over budget ${p.budget}`);
      assert.ok(Math.abs(s.cost - referenceCost(p, s.mask)) <= 1e-12 * p.budget);
      // Rounding up costs each tensor less than one unit, so every mask that fits a budget smaller by
      // (N + 2) units is feasible for the quantised problem: its optimum is a lower bound.
      const n = p.importance.length;
      const total = [...Array.from(p.tDy), ...Array.from(p.tDw)].reduce((a, b) => a + b, 0);
      const unit = total / resolution;
      const lower = exhaustive({ ...p, budget: p.budget - (n + 2) * unit });
      assert.ok(s.importance >= lower - 1e-9, `instance ${i}: ${s.importance} < ${lower}`);
    }
  });

  it('reports "nothing worth training" when every importance is ≤ 0', () => {
    const s = selectTensors({ tDy: [1, 1], tDw: [1, 1], importance: [-1, 0], budget: 10 });
    assert.equal(s.status, 'nothing-worth-training');
    assert.deepEqual(Array.from(s.mask), [0, 0]);
    assert.equal(s.cost, 0);
  });

  it('reports "nothing fits" when no positive tensor fits the budget', () => {
    const s = selectTensors({ tDy: [3, 1], tDw: [2, 2], importance: [1, 1], budget: 4 });
    assert.equal(s.status, 'nothing-fits');
    assert.equal(s.deepest, -1);
  });

  it('takes zero-cost tensors for free', () => {
    const s = selectTensors({ tDy: [0, 0, 5], tDw: [0, 0, 5], importance: [0.5, 0.25, 1], budget: 0 });
    assert.deepEqual(Array.from(s.mask), [1, 1, 0]);
  });

  it('handles 2000 tensors at T_q = 10^5 and returns a fitting mask', () => {
    const next = rng(3);
    const n = 2000;
    const p = {
      tDy: Array.from({ length: n }, () => next() * 1e9),
      tDw: Array.from({ length: n }, () => next() * 1e9),
      importance: Array.from({ length: n }, () => next() - 0.2),
      budget: 5e11,
      resolution: 100_000,
    };
    const s = selectTensors(p);
    assert.equal(s.status, 'selected');
    assert.ok(s.cost <= p.budget);
    assert.equal(s.cost, selectionCost(p.tDy, p.tDw, s.mask));
  });

  describe('input errors', () => {
    const cases: Array<[string, SelectionProblem, RegExp]> = [
      [
        'lengths differ',
        { tDy: [1, 2], tDw: [1], importance: [1, 1], budget: 1 },
        /t_dy, t_dw and importance must have the same length, got 2, 1 and 2/,
      ],
      [
        'a cost is negative',
        { tDy: [-1], tDw: [1], importance: [1], budget: 1 },
        /t_dy\.0: FLOPs cannot be negative/,
      ],
      [
        'an importance is NaN',
        { tDy: [1], tDw: [1], importance: [Number.NaN], budget: 1 },
        /importance\.0: expected a finite number/,
      ],
      [
        'the budget is negative',
        { tDy: [1], tDw: [1], importance: [1], budget: -5 },
        /budget: expected a finite number ≥ 0/,
      ],
    ];
    for (const [what, problem, message] of cases) {
      it(`rejects a problem where ${what}`, () => {
        assert.throws(
          () => selectTensors(problem, 'in.json'),
          (e: unknown) => {
            assert.ok(e instanceof SelectionInputError);
            assert.match(e.message, /^invalid selection input in\.json:/);
            assert.match(e.message, message);
            return true;
          },
        );
      });
    }
  });
});
