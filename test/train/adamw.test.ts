import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from '../../src/train/adamw.js';
import { assertClose, testBackend, useBackend } from '../helpers/backend.js';

/** PyTorch's AdamW on one value, in float64. */
function reference(w: number, grads: number[], lr: number, wd: number): number {
  let [m, v] = [0, 0];
  grads.forEach((g, i) => {
    const t = i + 1;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    w = w * (1 - lr * wd) - ((lr / (1 - 0.9 ** t)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
  });
  return w;
}

describe('train/adamw', () => {
  before(() => useBackend(testBackend()));

  it("follows PyTorch's AdamW with decoupled weight decay", () => {
    const opt = new AdamW({ weightDecay: 0.01 });
    const w = tf.variable(tf.tensor1d([1, -2]));
    const grads = [
      [0.5, 0.1],
      [-0.25, 0.3],
      [0.75, -0.2],
    ];
    for (const g of grads) opt.step([{ name: 'w', variable: w, gradient: tf.tensor1d(g) }], 0.1);
    const expected = [
      reference(
        1,
        grads.map((g) => g[0]!),
        0.1,
        0.01,
      ),
      reference(
        -2,
        grads.map((g) => g[1]!),
        0.1,
        0.01,
      ),
    ];
    assertClose(w.dataSync(), expected, 1e-6, 'weights');
    assert.equal(opt.steps('w'), 3);
  });

  it('keeps moments by name when the trainable set changes, and starts dropped tensors afresh', () => {
    const opt = new AdamW();
    const a = tf.variable(tf.ones([3]));
    const b = tf.variable(tf.ones([3]));
    const c = tf.variable(tf.ones([2, 2]));
    opt.step(
      [
        { name: 'a', variable: a, gradient: tf.fill([3], 1) },
        { name: 'b', variable: b, gradient: tf.fill([3], -100) },
      ],
      1e-3,
    );
    const aMoment = Array.from(opt.moments('a')!.m.dataSync());
    opt.step([{ name: 'b', variable: b, gradient: tf.fill([3], -100) }], 1e-3);
    opt.step([{ name: 'c', variable: c, gradient: tf.fill([2, 2], 2) }], 1e-3);
    assert.deepEqual(Array.from(opt.moments('a')!.m.dataSync()), aMoment);
    assert.deepEqual([opt.steps('a'), opt.steps('b'), opt.steps('c')], [1, 2, 1]);
    opt.retain(new Set(['b']));
    assert.deepEqual([opt.steps('a'), opt.steps('b'), opt.steps('c')], [0, 2, 0]);
    opt.dispose();
  });

  it('predicts its next update exactly, changing nothing, for tensors with and without state', () => {
    const opt = new AdamW({ weightDecay: 0.01 });
    const w = tf.variable(tf.tensor1d([0.3, -0.7, 1.5]));
    const g = tf.tensor1d([0.2, -0.4, 0.05]);
    for (const round of [0, 1, 2]) {
      const before = Array.from(w.dataSync());
      const moments = opt.moments('w') ? Array.from(opt.moments('w')!.v.dataSync()) : [];
      const delta = opt.delta('w', w, g, 2e-2);
      assert.deepEqual(Array.from(w.dataSync()), before, 'weights untouched');
      assert.deepEqual(
        opt.moments('w') ? Array.from(opt.moments('w')!.v.dataSync()) : [],
        moments,
        'moments untouched',
      );
      const expected = tf.add(tf.tensor1d(before), delta).dataSync();
      opt.step([{ name: 'w', variable: w, gradient: g }], 2e-2);
      assert.deepEqual(
        Array.from(w.dataSync()),
        Array.from(expected),
        `round ${round}: the step applied exactly the predicted Δw`,
      );
    }
  });
});
