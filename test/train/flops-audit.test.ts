import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { profileFlops } from '../../src/greentrainer/flops.js';
import { frozenBlocks, maskFlops } from '../../src/greentrainer/schemes.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import { executedFlops, kernelFlops, UnknownKernelError } from '../../src/train/flops-audit.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { rng } from '../helpers/random.js';

const VOCAB = 1024;
const CONFIGS: Record<string, Record<string, unknown>> = {
  opt: {
    model_type: 'opt',
    vocab_size: VOCAB,
    hidden_size: 128,
    ffn_dim: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 256,
  },
  'opt-350m-style': {
    model_type: 'opt',
    vocab_size: VOCAB,
    hidden_size: 128,
    ffn_dim: 512,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 256,
    do_layer_norm_before: false,
    word_embed_proj_dim: 64,
  },
  gpt2: { model_type: 'gpt2', vocab_size: VOCAB, n_embd: 128, n_layer: 2, n_head: 4, n_positions: 256 },
  bloom: { model_type: 'bloom', vocab_size: VOCAB, hidden_size: 128, n_layer: 2, n_head: 4 },
  llama: {
    model_type: 'llama',
    vocab_size: VOCAB,
    hidden_size: 128,
    intermediate_size: 384,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
  },
  // Bias on Q/K/V only, tied; block 1 slides over 16 positions (the mask is free, FLOPs unchanged).
  qwen2: {
    model_type: 'qwen2',
    vocab_size: VOCAB,
    hidden_size: 128,
    intermediate_size: 384,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
    use_sliding_window: true,
    sliding_window: 16,
    max_window_layers: 1,
  },
  mistral: {
    model_type: 'mistral',
    vocab_size: VOCAB,
    hidden_size: 128,
    intermediate_size: 384,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    head_dim: 48,
    sliding_window: 16,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 },
  },
  t5: {
    model_type: 't5',
    vocab_size: VOCAB,
    d_model: 128,
    d_kv: 32,
    d_ff: 384,
    num_layers: 2,
    num_heads: 4,
    feed_forward_proj: 'gated-gelu',
    tie_word_embeddings: false,
  },
};

describe('train/flops-audit: executed FLOPs against the FLOPs model', () => {
  before(() => useBackend(testBackend()));

  it('counts a matMul as 2·M·N·K and refuses a kernel it has no rule for', () => {
    assert.equal(
      kernelFlops({
        name: 'BatchMatMul',
        inputShapes: [
          [3, 4],
          [4, 5],
        ],
        outputShapes: [[3, 5]],
      }),
      2 * 3 * 4 * 5,
    );
    assert.equal(kernelFlops({ name: 'Transpose', inputShapes: [[3, 4]], outputShapes: [[4, 3]] }), 0);
    assert.throws(
      () => kernelFlops({ name: 'Conv2D', inputShapes: [[1]], outputShapes: [[1]] }),
      UnknownKernelError,
    );
  });

  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name}: runs what the model predicts for full, empty and 8 random masks${config.model_type === 't5' ? '' : ' (2 with block 0 off the tape)'}, within 3 %`, async () => {
      const seq2seq = config.model_type === 't5';
      const model = seq2seq ? Seq2SeqLM.random(config, name, 1) : CausalLM.random(config, name, 1);
      const [batch, t] = [2, 48];
      const next = rng(name.length * 7);
      const ids = tf.tensor2d(
        Array.from({ length: batch }, () => Array.from({ length: t }, () => Math.floor(next() * VOCAB))),
        undefined,
        'int32',
      );
      const mask = tf.ones([batch, t]) as tf.Tensor2D;
      // As the trainer runs it: blocks below the deepest trained tensor off the gradient tape.
      const lossOf = (frozenLayers: number) => () =>
        model instanceof Seq2SeqLM
          ? model.loss(ids, mask, ids, ids)
          : model.loss(ids, mask, ids, { frozenLayers });
      const profile = profileFlops(model.spec, { batch, inputLength: t, outputLength: seq2seq ? t : 0 });
      const names = profile.tensors.map((x) => x.name);
      const masks = [
        names.map(() => 1),
        names.map(() => 0),
        ...Array.from({ length: 6 }, () => names.map(() => (next() < 0.25 ? 1 : 0))),
        // Above block 0 only, so that block runs off the tape.
        ...Array.from({ length: 2 }, () =>
          names.map((n) => (frozenBlocks(model.spec, [n]) >= 1 && next() < 0.5 ? 1 : 0)),
        ),
      ];
      let frozenRuns = 0;
      for (const m of masks) {
        const chosen = names.filter((_, k) => m[k]);
        const vars = chosen.map((n) => model.params.get(n));
        const frozen = vars.length > 0 ? frozenBlocks(model.spec, chosen) : 0;
        if (frozen > 0) frozenRuns++;
        const loss = lossOf(frozen);
        const info = await tf.profile(() => {
          if (vars.length === 0) {
            tf.tidy(loss).dataSync();
            return;
          }
          const { value, grads } = tf.variableGrads(loss, vars);
          value.dataSync();
          tf.dispose([value, ...Object.values(grads)]);
        });
        const executed = executedFlops(info.kernels).total;
        const modeled = maskFlops(profile, m).flops;
        const error = Math.abs(executed / modeled - 1);
        assert.ok(
          error < 0.03,
          `${vars.length} of ${names.length} tensors, ${frozen} blocks frozen: executed ${executed}, modeled ${modeled} (${(100 * error).toFixed(2)} %)`,
        );
      }
      assert.equal(frozenRuns > 0, !seq2seq, 'decoder-only models ran masks with frozen blocks');
      tf.dispose([ids, mask]);
      model.dispose();
    });
  }
});
