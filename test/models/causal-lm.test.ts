import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { tensorOrder } from '../../src/greentrainer/flops.js';
import { frozenBlocks } from '../../src/greentrainer/schemes.js';
import { CausalLM, describeCausalLM } from '../../src/models/causal-lm.js';
import { generate } from '../../src/models/generate.js';
import { computeShape } from '../../src/models/parameters.js';
import { Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { PRESETS, presetConfig } from '../helpers/presets.js';

/** A shipped config shrunk to a tiny width, keeping every structural flag. */
function tiny(preset: string): Record<string, unknown> {
  const c = presetConfig(preset);
  const small = { vocab_size: 96 };
  switch (c.model_type) {
    case 'opt':
      return {
        ...c,
        ...small,
        hidden_size: 32,
        ffn_dim: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        max_position_embeddings: 64,
        word_embed_proj_dim: c.word_embed_proj_dim === c.hidden_size ? 32 : 16,
      };
    case 'gpt2':
      return { ...c, ...small, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64 };
    case 'bloom':
      return { ...c, ...small, hidden_size: 32, n_layer: 2, n_head: 4 };
    case 'llama':
    case 'qwen2':
    case 'mistral': {
      // Keeps the grouping of query heads over K/V heads; head size 4 whatever the head count.
      const ratio = (c.num_attention_heads as number) / ((c.num_key_value_heads as number | undefined) ?? 1);
      const kvHeads = 8 % ratio === 0 ? 8 / ratio : 1;
      return {
        ...c,
        ...small,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: ratio * kvHeads,
        num_key_value_heads: kvHeads,
        head_dim: 4,
      };
    }
    default:
      return {
        ...c,
        ...small,
        d_model: 32,
        d_kv: 8,
        d_ff: 48,
        num_layers: 2,
        num_decoder_layers: 2,
        num_heads: 4,
      };
  }
}

/** 8 short sequences over a tiny vocabulary, with labels equal to the inputs. */
function batch() {
  const rows = Array.from({ length: 8 }, (_, r) =>
    Array.from({ length: 10 }, (_, t) => ((r * 7 + t * 3) % 90) + 3),
  );
  const ids = tf.tensor2d(rows, [8, 10], 'int32');
  return { ids, mask: tf.ones([8, 10]) as tf.Tensor2D, labels: ids };
}

describe('models/causal-lm', () => {
  before(() => useBackend(testBackend()));

  for (const preset of PRESETS) {
    const config = tiny(preset);
    if (config.model_type === 't5') {
      it(`${preset}: trains exactly the FLOPs model's tensors (names, order, shapes), each reached by the loss`, () => {
        const model = Seq2SeqLM.random(config, preset, 1);
        assert.deepEqual(
          model.params.names(),
          tensorOrder(model.spec).map((t) => t.name),
        );
        const { ids, mask, labels } = batch();
        const { value, grads } = tf.variableGrads(
          () => model.loss(ids, mask, ids, labels),
          model.params.list(),
        );
        for (const t of model.params.specs) {
          const g = grads[model.params.get(t.name).name];
          assert.ok(g && tf.sum(tf.abs(g)).dataSync()[0]! > 0, `${t.name} gradient is missing or zero`);
          assert.deepEqual(g.shape, computeShape(t));
        }
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
      });
      it(`${preset}: generates the same tokens with the K/V cache as without, and beam 1 equals greedy`, () => {
        const model = Seq2SeqLM.random(config, preset, 4);
        const prompt = [5, 17, 42, 8, 23];
        const cached = generate(model, prompt, { maxNewTokens: 8 });
        assert.equal(cached.length, 9);
        assert.deepEqual(generate(model, prompt, { maxNewTokens: 8, useCache: false }), cached);
        assert.deepEqual(generate(model, prompt, { maxNewTokens: 8, numBeams: 1 }), cached);
        assert.deepEqual(
          generate(model, prompt, { maxNewTokens: 8, numBeams: 4, useCache: false }),
          generate(model, prompt, { maxNewTokens: 8, numBeams: 4 }),
        );
        model.dispose();
      });
      continue;
    }
    it(`${preset}: trains exactly the FLOPs model's tensors (names, order, shapes), each reached by the loss`, () => {
      const model = CausalLM.random(config, preset, 1);
      const expected = tensorOrder(describeCausalLM(config, preset).spec);
      assert.deepEqual(
        model.params.names(),
        expected.map((t) => t.name),
      );
      const { ids, mask, labels } = batch();
      const { value, grads } = tf.variableGrads(() => model.loss(ids, mask, labels), model.params.list());
      for (const t of expected) {
        const g = grads[model.params.get(t.name).name];
        assert.ok(g, `no gradient for ${t.name}`);
        assert.deepEqual(g.shape, computeShape(t), `${t.name} gradient shape`);
        assert.ok(tf.sum(tf.abs(g)).dataSync()[0]! > 0, `${t.name} gradient is zero`);
      }
      const saved = [...model.params.checkpointValues()].map((v) => [v.name, v.shape.join()]);
      assert.deepEqual(
        saved,
        expected.map((t) => [t.name, t.shape.join()]),
      );
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  }

  for (const preset of ['opt-350m', 'opt-2.7b', 'gpt2', 'bloomz-3b', 'tinyllama-1.1b', 'qwen2.5-0.5b']) {
    it(`${preset}: runs frozen blocks off the tape: the same loss and gradients, less kept for backward`, () => {
      const model = CausalLM.random(tiny(preset), preset, 3);
      const { ids, mask, labels } = batch();
      // Everything above block 0: the untied head, the final norm, block 1.
      const trained = model.params.specs
        .filter((t) => frozenBlocks(model.spec, [t.name]) >= 1)
        .map((t) => t.name);
      assert.equal(frozenBlocks(model.spec, trained), 1);
      const vars = trained.map((n) => model.params.get(n));
      const run = (frozenLayers: number) => {
        let kept = 0;
        const { value, grads } = tf.variableGrads(() => {
          const loss = model.loss(ids, mask, labels, { frozenLayers });
          kept = tf.memory().numBytes; // everything the forward pass left alive for the backward one
          return loss;
        }, vars);
        const out = {
          loss: value.dataSync()[0],
          grads: vars.map((v) => Array.from(grads[v.name]!.dataSync())),
          kept,
        };
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const taped = run(0);
      const frozen = run(1);
      assert.equal(frozen.loss, taped.loss);
      assert.deepEqual(frozen.grads, taped.grads);
      assert.ok(
        frozen.kept < taped.kept,
        `bytes alive after forward: ${frozen.kept} frozen vs ${taped.kept}`,
      );
      // A tensor inside a frozen block gets no gradient at all (an error alone), never a zero one.
      const inside = model.params.get(model.params.specs.find((t) => t.layer === 'decoder.0')!.name);
      const loss = () => model.loss(ids, mask, labels, { frozenLayers: 1 });
      assert.throws(() => tf.variableGrads(loss, [inside]), /Cannot find a connection/);
      const { value, grads } = tf.variableGrads(loss, [inside, vars[0]!]);
      assert.deepEqual(Object.keys(grads), [vars[0]!.name]);
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  }

  for (const preset of ['opt-350m', 'gpt2', 'bloomz-3b', 'tinyllama-1.1b']) {
    it(`${preset}: overfits 8 examples to under 10 % of the starting loss within 200 steps, with a flat tensor count`, () => {
      const model = CausalLM.random(tiny(preset), preset, 2);
      const { ids, mask, labels } = batch();
      const optimizer = tf.train.adam(1e-2);
      const vars = model.params.list();
      const losses: number[] = [];
      const counts: number[] = [];
      for (let step = 0; step < 200; step++) {
        const loss = optimizer.minimize(() => model.loss(ids, mask, labels), true, vars)!;
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
        counts.push(tf.memory().numTensors);
        if (losses.at(-1)! < 0.1 * losses[0]! && step >= 100) break;
      }
      assert.ok(losses.at(-1)! < 0.1 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
      // Adam's slots appear on the first step; from then on, nothing may leak.
      assert.equal(
        counts.at(-1),
        counts[1],
        `tensors: ${counts[1]} after step 2, ${counts.at(-1)} at the end`,
      );
      optimizer.dispose();
      model.dispose();
    });
  }

  for (const preset of ['opt-2.7b', 'gpt2', 'bloomz-3b', 'tinyllama-1.1b', 'llama-3.2-1b', 'qwen2.5-0.5b']) {
    it(`${preset}: generates the same tokens with the K/V cache as without, and beam 1 equals greedy`, () => {
      const model = CausalLM.random(tiny(preset), preset, 4);
      const prompt = [5, 17, 42, 8, 23];
      const cached = generate(model, prompt, { maxNewTokens: 8 });
      assert.equal(cached.length, prompt.length + 8);
      assert.deepEqual(generate(model, prompt, { maxNewTokens: 8, useCache: false }), cached);
      assert.deepEqual(generate(model, prompt, { maxNewTokens: 8, numBeams: 1 }), cached);
      const beams = generate(model, prompt, { maxNewTokens: 8, numBeams: 4 });
      assert.deepEqual(generate(model, prompt, { maxNewTokens: 8, numBeams: 4, useCache: false }), beams);
      model.dispose();
    });
  }
});
