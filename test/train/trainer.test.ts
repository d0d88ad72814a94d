import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { RhoError } from '../../src/greentrainer/errors.js';
import { profileFlops } from '../../src/greentrainer/flops.js';
import { frozenBlocks } from '../../src/greentrainer/schemes.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import type { LossPass } from '../../src/models/loss.js';
import { AdamW } from '../../src/train/adamw.js';
import { Trainer } from '../../src/train/trainer.js';
import { testBackend, useBackend } from '../helpers/backend.js';

const CONFIG = {
  model_type: 'opt',
  vocab_size: 256,
  hidden_size: 64,
  ffn_dim: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  max_position_embeddings: 64,
};

function setup(rho: number, intervalSteps: number, moments?: 'current' | 'fresh' | 'keep') {
  const model = CausalLM.random(CONFIG, 'trainer', 3);
  const rows = Array.from({ length: 4 }, (_, r) =>
    Array.from({ length: 24 }, (_, t) => (r * 37 + t * 11) % 256),
  );
  const ids = tf.tensor2d(rows, undefined, 'int32');
  const mask = tf.ones([4, 24]) as tf.Tensor2D;
  const profile = profileFlops(model.spec, { batch: 4, inputLength: 24, outputLength: 0 });
  const optimizer = new AdamW();
  const trainer = new Trainer(model.spec, model.params, optimizer, profile, {
    rho,
    intervalSteps,
    lr: () => 1e-3,
    ...(moments ? { moments } : {}),
  });
  const loss = (pass?: LossPass) => model.loss(ids, mask, ids, pass);
  return {
    model,
    trainer,
    optimizer,
    loss,
    dispose: () => {
      model.dispose();
      optimizer.dispose();
      tf.dispose([ids, mask]);
    },
  };
}

describe('train/trainer', () => {
  before(() => useBackend(testBackend()));

  it('selects at the start, trains within ρ, and lowers the loss', () => {
    const t = setup(0.6, 1000);
    const first = t.trainer.step(t.loss);
    assert.ok(first.selection, 'the first step selects');
    assert.ok(first.flops <= 0.6 * first.fullFlops + 1e-6, `${first.flops} > 0.6 × ${first.fullFlops}`);
    let last = first;
    for (let i = 0; i < 30; i++) last = t.trainer.step(t.loss);
    assert.ok(last.loss < first.loss, `loss ${first.loss} → ${last.loss}`);
    assert.equal(last.selection, undefined);
    t.dispose();
  });

  it('runs the blocks below the deepest tensor it trains, or scores, off the gradient tape', () => {
    const t = setup(0.5, 1000);
    const passes: number[] = [];
    const loss = (pass?: LossPass) => {
      passes.push(pass?.frozenLayers ?? 0);
      return t.loss(pass);
    };
    t.trainer.step(loss);
    t.trainer.step(loss);
    const [importance, training, next] = passes as [number, number, number];
    assert.equal(passes.length, 3, 'one importance pass, then one training pass per step');
    assert.ok(importance > 0, 'importance spares the blocks below the early-stop depth');
    assert.equal(training, frozenBlocks(t.model.spec, t.trainer.trainable));
    assert.ok(training >= importance && training > 0, `${training} blocks frozen in training`);
    assert.equal(next, training);
    t.dispose();
  });

  it('applies a new ρ at the next step boundary, and refuses one below the floor at once', () => {
    const t = setup(0.5, 1000);
    const a = t.trainer.step(t.loss);
    t.trainer.setRho(0.9);
    const b = t.trainer.step(t.loss);
    assert.equal(a.rho, 0.5);
    assert.equal(b.rho, 0.9);
    assert.ok(b.selection && b.selection.tensors > a.selection!.tensors, 'more tensors train at a higher ρ');
    assert.ok(b.flops > a.flops);
    assert.throws(() => t.trainer.setRho(0.2), RhoError);
    assert.equal(t.trainer.step(t.loss).rho, 0.9);
    t.dispose();
  });

  it('keeps AdamW state only for tensors still selected, and leaks no tensor across re-selections', () => {
    const t = setup(0.6, 10);
    const counts: number[] = [];
    for (let i = 0; i < 200; i++) {
      if (i === 100) t.trainer.setRho(0.8);
      if (i === 150) t.trainer.setRho(0.55);
      t.trainer.step(t.loss);
      const stateful = t.model.params.names().filter((n) => t.optimizer.steps(n) > 0);
      assert.deepEqual(
        stateful,
        [...t.trainer.trainable],
        `step ${i}: AdamW state only for the selected tensors`,
      );
      // AdamW's two moments come and go with the selection; everything else must stay flat.
      counts.push(tf.memory().numTensors - 2 * stateful.length);
    }
    assert.equal(
      counts[199],
      counts[9],
      `tensors besides AdamW's: ${counts[9]} at step 10, ${counts[199]} at step 200`,
    );
    assert.equal(new Set(counts).size, 1);
    t.dispose();
  });

  it('with moments: keep, holds the frozen moments of tensors that leave the selection, and leaks none', () => {
    const t = setup(0.8, 10, 'keep');
    for (let i = 0; i < 3; i++) t.trainer.step(t.loss);
    const wide = [...t.trainer.trainable];
    const held = new Map(
      wide.map((n) => {
        const s = t.optimizer.moments(n)!;
        return [
          n,
          { m: Array.from(s.m.dataSync()), v: Array.from(s.v.dataSync()), steps: t.optimizer.steps(n) },
        ];
      }),
    );
    t.trainer.setRho(0.55);
    const base = tf.memory().numTensors - 2 * t.optimizer.names().length;
    for (let i = 0; i < 4; i++) {
      t.trainer.step(t.loss);
      assert.equal(
        tf.memory().numTensors - 2 * t.optimizer.names().length,
        base,
        `step ${i}: a tensor leaked`,
      );
    }
    const narrow = new Set(t.trainer.trainable);
    const left = wide.filter((n) => !narrow.has(n));
    assert.ok(left.length > 0, 'ρ 0.8 → 0.55 deselects some tensors');
    for (const n of left) {
      const s = t.optimizer.moments(n);
      assert.ok(s, `${n} left the selection and lost its moments`);
      assert.deepEqual(Array.from(s.m.dataSync()), held.get(n)!.m, `${n}: m changed while frozen`);
      assert.deepEqual(Array.from(s.v.dataSync()), held.get(n)!.v, `${n}: v changed while frozen`);
      assert.equal(t.optimizer.steps(n), held.get(n)!.steps);
    }
    // Without keep the same tensors drop theirs.
    const d = setup(0.8, 10);
    for (let i = 0; i < 3; i++) d.trainer.step(d.loss);
    d.trainer.setRho(0.55);
    d.trainer.step(d.loss);
    assert.deepEqual(d.optimizer.names().sort(), [...d.trainer.trainable].sort());
    d.dispose();
    t.dispose();
  });

  it('re-selects at a ρ change on the interval’s importance when it reaches the new depth, else scores afresh', () => {
    const t = setup(0.6, 1000);
    let passes = 0;
    const loss = (pass?: LossPass) => {
      passes++;
      return t.loss(pass);
    };
    const first = t.trainer.step(loss).selection!;
    assert.ok(first.scored > 0 && passes === 2, 'the first selection scores (one pass) and trains (one)');
    // Lower ρ: a shallower depth, covered by the scores at 0.6: no importance pass.
    t.trainer.setRho(0.5);
    passes = 0;
    const lower = t.trainer.step(loss).selection!;
    assert.equal(lower.scored, 0);
    assert.equal(passes, 1, 'only the training pass ran');
    assert.ok(lower.tensors < first.tensors);
    // The reused scores select what scoring afresh at the same step would have selected from them:
    // back to 0.6, the same tensors as the first selection.
    t.trainer.setRho(0.6);
    const again = t.trainer.step(loss).selection!;
    assert.equal(again.scored, 0);
    assert.deepEqual(again.selected, first.selected);
    // Raise ρ past the depth the scores reach: a new pass, to the new depth.
    t.trainer.setRho(1);
    passes = 0;
    const higher = t.trainer.step(loss).selection!;
    assert.ok(higher.scored > first.scored, `${higher.scored} scored`);
    assert.equal(passes, 2);
    // A checkpoint carries the scores: a trainer restored from it reuses them at the next ρ change.
    const state = JSON.parse(JSON.stringify(t.trainer.state()));
    const u = setup(1, 1000);
    u.trainer.restore(state);
    t.trainer.setRho(0.7);
    u.trainer.setRho(0.7);
    const a = t.trainer.step(t.loss).selection!;
    const b = u.trainer.step(u.loss).selection!;
    assert.equal(b.scored, 0);
    assert.deepEqual(b.selected, a.selected);
    t.dispose();
    u.dispose();
  });
});
