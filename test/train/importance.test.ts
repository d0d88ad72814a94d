import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { CausalLM } from '../../src/models/causal-lm.js';
import { AdamW } from '../../src/train/adamw.js';
import { tensorImportance } from '../../src/train/importance.js';
import { testBackend, useBackend } from '../helpers/backend.js';

const CONFIG = { model_type: 'gpt2', vocab_size: 64, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 32 };

describe('train/importance', () => {
  before(() => useBackend(testBackend()));

  it('scores every tensor by −Δw·∂L/∂w from AdamW, touching neither weights nor moments', () => {
    const model = CausalLM.random(CONFIG, 'tiny', 7);
    const ids = tf.tensor2d([Array.from({ length: 12 }, (_, i) => (i * 5) % 64)], undefined, 'int32');
    const mask = tf.ones([1, 12]) as tf.Tensor2D;
    const loss = () => model.loss(ids, mask, ids);
    const opt = new AdamW({ weightDecay: 0.01 });
    // One real step first, so that some tensors have moments and some (the last two) do not.
    const names = model.params.names();
    const warm = names.slice(0, -2).map((n) => model.params.get(n));
    const { grads } = tf.variableGrads(loss, warm);
    opt.step(
      names.slice(0, -2).map((name, k) => ({ name, variable: warm[k]!, gradient: grads[warm[k]!.name]! })),
      1e-2,
    );
    const weights = names.map((n) => Array.from(model.params.get(n).dataSync()));
    const moments = names.slice(0, -2).map((n) => Array.from(opt.moments(n)!.m.dataSync()));
    const second = names.slice(0, -2).map((n) => Array.from(opt.moments(n)!.v.dataSync()));

    const scores = tensorImportance({
      tensors: new Map(names.map((n) => [n, model.params.get(n)])),
      losses: [loss, loss],
      optimizer: opt,
      lr: 1e-2,
    });
    assert.deepEqual(
      names.map((n) => Array.from(model.params.get(n).dataSync())),
      weights,
      'weights are bitwise unchanged',
    );
    assert.deepEqual(
      names.slice(0, -2).map((n) => Array.from(opt.moments(n)!.m.dataSync())),
      moments,
      'moments are bitwise unchanged',
    );
    assert.deepEqual(
      names.slice(0, -2).map((n) => Array.from(opt.moments(n)!.v.dataSync())),
      second,
      'second moments are bitwise unchanged',
    );
    assert.equal(Math.max(...[...scores.values()].map(Math.abs)), 1);

    // The Δw importance used is exactly what the next real step applies, with and without state.
    const vars = names.map((n) => model.params.get(n));
    const g = tf.variableGrads(loss, vars).grads;
    const deltas = names.map((n, k) => opt.delta(n, vars[k]!, g[vars[k]!.name]!, 1e-2));
    const previous = names.map((n) => model.params.get(n).clone());
    opt.step(
      names.map((name, k) => ({ name, variable: vars[k]!, gradient: g[vars[k]!.name]! })),
      1e-2,
    );
    // Exactly: each weight after the step is fl(w + Δw), the float32 sum of the old weight and the
    // Δw importance used (comparing w_after − w_before with Δw instead loses ~1e-6 to cancellation).
    names.forEach((n, k) => {
      const expected = tf.add(previous[k]!, deltas[k]!).dataSync();
      assert.deepEqual(model.params.get(n).dataSync(), expected, `${n}: the step applied another Δw`);
    });

    // First order: applying the most important tensor's own update lowers the loss.
    const [best] = [...scores.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const w = model.params.get(best);
    const before = tf.tidy(loss).dataSync()[0]!;
    const gradient = tf.variableGrads(loss, [w]).grads[w.name]!;
    w.assign(tf.add(w, opt.delta(best, w, gradient, 1e-2)));
    assert.ok(tf.tidy(loss).dataSync()[0]! < before, `loss ${before} did not drop after updating ${best}`);
    model.dispose();
    opt.dispose();
  });

  it('pins −Σ Δw·∂L/∂w on a hand-computed case, which neither Σ|Δw| nor Σ|∂L/∂w| gives', () => {
    // L = ½(a₀² + a₁²) + 2·b₀², so ∂L/∂a = a = [1, −2] and ∂L/∂b = 4b = [12]. With fresh AdamW state
    // (m̂ = g, v̂ = g²), lr 0.1, λ 0.5: Δw = −lr·(g/(|g|+ε) + λ·w), so
    //   Δa = −0.1·([1, −1] + [0.5, −1]) = [−0.15, 0.2],   Δb = −0.1·(1 + 1.5) = [−0.25]
    //   I_a = −(−0.15·1 + 0.2·−2) = 0.55,   I_b = −(−0.25·12) = 3,   normalised: a 0.55/3, b 1.
    // The ablations rank differently: Σ|Δw| gives a 0.35, b 0.25 (a 1, b 5/7); Σ|∂L/∂w| a 3, b 12 (a 0.25, b 1).
    const a = tf.variable(tf.tensor1d([1, -2]), true, 'hand/a');
    const b = tf.variable(tf.tensor1d([3]), true, 'hand/b');
    const loss = () =>
      tf.tidy(() => tf.add(tf.mul(0.5, tf.sum(tf.square(a))), tf.mul(2, tf.sum(tf.square(b))))) as tf.Scalar;
    const tensors = new Map([
      ['a', a],
      ['b', b],
    ]);
    const opt = new AdamW({ weightDecay: 0.5 });
    const score = (metric?: 'delta' | 'gradient') =>
      tensorImportance({ tensors, losses: [loss], optimizer: opt, lr: 0.1, ...(metric ? { metric } : {}) });
    const close = (got: Map<string, number>, want: [number, number], what: string) =>
      assert.ok(
        Math.abs(got.get('a')! - want[0]) < 1e-6 && Math.abs(got.get('b')! - want[1]) < 1e-6,
        `${what}: a ${got.get('a')}, b ${got.get('b')}; expected ${want}`,
      );
    close(score(), [0.55 / 3, 1], '−Σ Δw·∂L/∂w');
    close(score('delta'), [1, 0.25 / 0.35], 'Σ|Δw|');
    close(score('gradient'), [0.25, 1], 'Σ|∂L/∂w|');
    // The paper's metric is none of the ablations on this case.
    assert.ok(Math.abs(score().get('a')! - score('gradient').get('a')!) > 0.05);
    assert.ok(Math.abs(score().get('a')! - score('delta').get('a')!) > 0.5);
    tf.dispose([a, b]);
    opt.dispose();
  });

  it('scores with each tensor’s moments (current, keep) or with first-step Δw for all (fresh), by hand', () => {
    // Same loss as above: ∂L/∂a = [1, −2], ∂L/∂b = [12]. AdamW β1 = β2 = 0.5, λ 0.5, lr 0.1; a holds
    // moments m = [1, 2], v = [1, 4] after 100 steps (bias corrections 1 − 0.5^101 = 1 in float64).
    // With them: m' = ½m + ½g = [1, 0], v' = ½v + ½g² = [1, 4], so
    //   Δa = −0.1·(m'/√v' + λa) = −0.1·([1, 0] + [0.5, −1]) = [−0.15, 0.1],  I_a = 0.15 + 0.2 = 0.35.
    // b has none: first-step Δb = [−0.25], I_b = 3 (as above). Fresh ignores a's moments: I_a = 0.55.
    const a = tf.variable(tf.tensor1d([1, -2]), true, 'moments/a');
    const b = tf.variable(tf.tensor1d([3]), true, 'moments/b');
    const loss = () =>
      tf.tidy(() => tf.add(tf.mul(0.5, tf.sum(tf.square(a))), tf.mul(2, tf.sum(tf.square(b))))) as tf.Scalar;
    const tensors = new Map([
      ['a', a],
      ['b', b],
    ]);
    const opt = new AdamW({ beta1: 0.5, beta2: 0.5, weightDecay: 0.5 });
    opt.load('a', tf.tensor1d([1, 2]), tf.tensor1d([1, 4]), 100);
    const before = tf.memory().numTensors;
    const score = (moments?: 'current' | 'fresh' | 'keep') =>
      tensorImportance({ tensors, losses: [loss], optimizer: opt, lr: 0.1, ...(moments ? { moments } : {}) });
    const close = (got: Map<string, number>, want: [number, number], what: string) =>
      assert.ok(
        Math.abs(got.get('a')! - want[0]) < 1e-6 && Math.abs(got.get('b')! - want[1]) < 1e-6,
        `${what}: a ${got.get('a')}, b ${got.get('b')}; expected ${want}`,
      );
    close(score(), [0.35 / 3, 1], 'current (default)');
    close(score('current'), [0.35 / 3, 1], 'current');
    close(score('keep'), [0.35 / 3, 1], 'keep');
    close(score('fresh'), [0.55 / 3, 1], 'fresh');
    assert.equal(tf.memory().numTensors, before, 'scoring leaks no tensor');
    assert.deepEqual(Array.from(opt.moments('a')!.m.dataSync()), [1, 2], 'fresh leaves the moments alone');
    assert.equal(opt.steps('a'), 100);
    tf.dispose([a, b]);
    opt.dispose();
  });
});
