import { strict as assert } from 'node:assert';
import { buildArchitecture } from '../../src/greentrainer/architectures/index.js';
import { ModelConfigError } from '../../src/greentrainer/errors.js';
import { tensorOrder } from '../../src/greentrainer/flops.js';
import { PRESETS, presetConfig, presetSpec } from '../helpers/presets.js';

function names(preset: string): string[] {
  return tensorOrder(presetSpec(preset)).map((t) => t.name);
}

function shapeOf(preset: string, name: string): readonly number[] | undefined {
  return presetSpec(preset).tensors.get(name)?.shape;
}

describe('greentrainer/architectures', () => {
  // Parameter counts published for each checkpoint (tied embeddings counted once): a check of every
  // shape the specs produce that does not come from our own code.
  const parameters: Record<(typeof PRESETS)[number], number> = {
    'opt-350m': 331_196_416,
    'opt-1.3b': 1_315_758_080,
    'opt-2.7b': 2_651_596_800,
    'opt-6.7b': 6_658_473_984,
    'bloomz-3b': 3_002_557_440,
    'flan-t5-xl': 2_849_757_184,
    gpt2: 124_439_808,
    'tinyllama-1.1b': 1_100_048_384,
    'llama-3.2-1b': 1_235_814_400,
    'smollm2-360m': 361_821_120,
    'qwen2.5-0.5b': 494_032_768,
    'mistral-7b-v0.3': 7_248_023_552,
  };
  for (const preset of PRESETS) {
    it(`${preset}: tensor shapes add up to the published ${parameters[preset].toLocaleString('en')} parameters`, () => {
      const spec = presetSpec(preset);
      const count = [...spec.tensors.values()].reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(count, parameters[preset]);
    });
  }

  it('orders OPT tensors from the loss down, with the tied embedding last', () => {
    const n = names('opt-2.7b');
    assert.equal(n.length, 516);
    assert.deepEqual(n.slice(0, 8), [
      'model.decoder.final_layer_norm.bias',
      'model.decoder.final_layer_norm.weight',
      'model.decoder.layers.31.fc2.bias',
      'model.decoder.layers.31.fc2.weight',
      'model.decoder.layers.31.fc1.bias',
      'model.decoder.layers.31.fc1.weight',
      'model.decoder.layers.31.final_layer_norm.bias',
      'model.decoder.layers.31.final_layer_norm.weight',
    ]);
    assert.deepEqual(n.slice(8, 18), [
      'model.decoder.layers.31.self_attn.out_proj.bias',
      'model.decoder.layers.31.self_attn.out_proj.weight',
      'model.decoder.layers.31.self_attn.v_proj.bias',
      'model.decoder.layers.31.self_attn.v_proj.weight',
      'model.decoder.layers.31.self_attn.q_proj.bias',
      'model.decoder.layers.31.self_attn.q_proj.weight',
      'model.decoder.layers.31.self_attn.k_proj.bias',
      'model.decoder.layers.31.self_attn.k_proj.weight',
      'model.decoder.layers.31.self_attn_layer_norm.bias',
      'model.decoder.layers.31.self_attn_layer_norm.weight',
    ]);
    assert.deepEqual(n.slice(-2), [
      'model.decoder.embed_positions.weight',
      'model.decoder.embed_tokens.weight',
    ]);
    assert.deepEqual(shapeOf('opt-2.7b', 'model.decoder.layers.0.fc1.weight'), [10240, 2560]);
    assert.deepEqual(shapeOf('opt-2.7b', 'model.decoder.embed_positions.weight'), [2050, 2560]);
  });

  it('builds opt-350m with post-LayerNorm blocks and the 512-wide embedding projections', () => {
    const n = names('opt-350m');
    assert.equal(n[0], 'model.decoder.project_out.weight');
    assert.ok(!n.includes('model.decoder.final_layer_norm.weight'));
    assert.deepEqual(n.slice(1, 3), [
      'model.decoder.layers.23.final_layer_norm.bias',
      'model.decoder.layers.23.final_layer_norm.weight',
    ]);
    assert.deepEqual(n.slice(-3), [
      'model.decoder.embed_positions.weight',
      'model.decoder.project_in.weight',
      'model.decoder.embed_tokens.weight',
    ]);
    assert.deepEqual(shapeOf('opt-350m', 'model.decoder.project_in.weight'), [1024, 512]);
    assert.deepEqual(shapeOf('opt-350m', 'model.decoder.embed_tokens.weight'), [50272, 512]);
  });

  it('keeps GPT-2 Conv1D weights [in, out] and its fused c_attn', () => {
    const n = names('gpt2');
    assert.equal(n.length, 148);
    assert.deepEqual(shapeOf('gpt2', 'transformer.h.0.attn.c_attn.weight'), [768, 2304]);
    assert.deepEqual(shapeOf('gpt2', 'transformer.h.0.mlp.c_fc.weight'), [768, 3072]);
    assert.deepEqual(n.slice(-2), ['transformer.wpe.weight', 'transformer.wte.weight']);
  });

  it('gives BLOOM its embedding LayerNorm and accepts both spellings of its sizes', () => {
    const n = names('bloomz-3b');
    assert.deepEqual(n.slice(-3), [
      'transformer.word_embeddings_layernorm.bias',
      'transformer.word_embeddings_layernorm.weight',
      'transformer.word_embeddings.weight',
    ]);
    const { hidden_size, n_head, n_layer, ...rest } = presetConfig('bloomz-3b');
    const old = buildArchitecture(
      { ...rest, n_embed: hidden_size, num_attention_heads: n_head, num_hidden_layers: n_layer },
      'old',
    );
    assert.deepEqual(
      tensorOrder(old).map((t) => t.name),
      n,
    );
  });

  it('sizes Llama K/V projections for grouped-query attention and keeps lm_head untied', () => {
    assert.deepEqual(shapeOf('tinyllama-1.1b', 'model.layers.0.self_attn.k_proj.weight'), [256, 2048]);
    assert.deepEqual(shapeOf('tinyllama-1.1b', 'model.layers.0.self_attn.q_proj.weight'), [2048, 2048]);
    const n = names('tinyllama-1.1b');
    assert.deepEqual(n.slice(0, 2), ['lm_head.weight', 'model.norm.weight']);
    assert.equal(n.at(-1), 'model.embed_tokens.weight');
  });

  it('puts the T5 decoder above the encoder, relative biases in block 0, and shared last', () => {
    const n = names('flan-t5-xl');
    assert.deepEqual(n.slice(0, 2), ['lm_head.weight', 'decoder.final_layer_norm.weight']);
    assert.equal(n.at(-1), 'shared.weight');
    const encoderTop = n.indexOf('encoder.final_layer_norm.weight');
    assert.equal(n.indexOf('decoder.block.0.layer.0.layer_norm.weight'), encoderTop - 1);
    assert.equal(n.filter((x) => x.endsWith('relative_attention_bias.weight')).length, 2);
    assert.deepEqual(
      shapeOf('flan-t5-xl', 'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'),
      [32, 32],
    );
    assert.deepEqual(
      shapeOf('flan-t5-xl', 'encoder.block.3.layer.1.DenseReluDense.wi_0.weight'),
      [5120, 2048],
    );
  });

  it('ties T5 lm_head to shared when tie_word_embeddings is true (t5-small style)', () => {
    const spec = buildArchitecture(
      { model_type: 't5', vocab_size: 100, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 2, num_heads: 4 },
      't5-small-ish',
    );
    const n = tensorOrder(spec).map((t) => t.name);
    assert.ok(!n.includes('lm_head.weight'));
    assert.equal(spec.outputEmbedding, 'shared.weight');
    assert.ok(n.includes('encoder.block.1.layer.1.DenseReluDense.wi.weight'));
  });

  describe('config errors', () => {
    const base = presetConfig('opt-350m');
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'an unknown model type',
        { ...base, model_type: 'mamba' },
        /model_type: unknown model type 'mamba'; known: opt, gpt2, bloom, llama, qwen2, mistral, t5/,
      ],
      ['no model type', { hidden_size: 3 }, /model_type: expected a string naming the family/],
      [
        'a missing field',
        { ...base, ffn_dim: undefined },
        /ffn_dim: Invalid input: expected number, received undefined/,
      ],
      ['a non-integer size', { ...base, hidden_size: 10.5 }, /hidden_size: .*expected int/i],
      [
        'heads that do not divide the width',
        { ...base, num_attention_heads: 7 },
        /hidden_size \(1024\) must be a multiple of num_attention_heads \(7\)/,
      ],
      [
        'an unknown activation',
        { ...base, activation_function: 'swiglu9' },
        /activation_function: unknown activation 'swiglu9'/,
      ],
      ['an array', [], /\(root\): expected a JSON object/],
    ];
    for (const [what, config, message] of cases) {
      it(`names the field for ${what}`, () => {
        assert.throws(
          () => buildArchitecture(config, 'models/x/config.json'),
          (e: unknown) => {
            assert.ok(e instanceof ModelConfigError);
            assert.match(e.message, /^invalid model config models\/x\/config\.json:/);
            assert.match(e.message, message);
            return true;
          },
        );
      });
    }
  });
});
