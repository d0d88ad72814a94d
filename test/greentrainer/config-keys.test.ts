import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { CONFIG_KEYS, unknownKeys } from '../../src/greentrainer/architectures/config-keys.js';
import { buildArchitecture } from '../../src/greentrainer/architectures/index.js';
import { parseRope } from '../../src/greentrainer/architectures/rope.js';
import { ModelConfigError } from '../../src/greentrainer/errors.js';
import { PRESETS, presetConfig } from '../helpers/presets.js';

const goldenDir = new URL('../fixtures/golden/', import.meta.url);

/** Every config.json we ship or test against: the presets and the golden fixtures. */
function configs(): Array<[string, Record<string, unknown>]> {
  const golden = readdirSync(goldenDir).map((name): [string, Record<string, unknown>] => [
    `golden/${name}`,
    JSON.parse(readFileSync(new URL(`${name}/config.json`, goldenDir), 'utf8')),
  ]);
  return [
    ...PRESETS.map((p): [string, Record<string, unknown>] => [`preset ${p}`, presetConfig(p)]),
    ...golden,
  ];
}

/** `buildArchitecture` must throw a ModelConfigError whose message matches `message`. */
function refuses(config: unknown, message: RegExp): void {
  assert.throws(
    () => buildArchitecture(config, 'x/config.json'),
    (e: unknown) => e instanceof ModelConfigError && message.test(e.message),
  );
}

const LLAMA = {
  model_type: 'llama',
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  max_position_embeddings: 128,
};

describe('greentrainer/architectures/config-keys', () => {
  // A key a family neither reads nor lists as harmless may change the math: each one found here
  // must be implemented (or refused) and listed, never left to be ignored.
  for (const [name, config] of configs()) {
    const family = config.model_type as string;
    if (!(family in CONFIG_KEYS)) continue; // T5's keys are not listed yet
    it(`${name} (${family}): every key is read by the family or known not to change the math`, () => {
      assert.deepEqual(unknownKeys(family, config), []);
    });
  }

  it('walks every family of the decoder-only registry', () => {
    const walked = new Set(configs().map(([, c]) => c.model_type as string));
    for (const family of Object.keys(CONFIG_KEYS)) assert.ok(walked.has(family), `no config of ${family}`);
  });

  it('refuses a key a RoPE family does not know, naming it', () => {
    refuses(
      { ...LLAMA, quantization_config: { bits: 4 } },
      /quantization_config: 'llama' configs are not known to carry 'quantization_config': it may change the computation/,
    );
    refuses(
      { ...LLAMA, model_type: 'mistral', layer_types: ['full_attention', 'full_attention'] },
      /layer_types: 'mistral' configs are not known to carry 'layer_types'/,
    );
  });

  it('refuses a RoPE type it does not implement, naming the key, in both layouts', () => {
    const longrope = { rope_type: 'longrope', short_factor: [1], long_factor: [1], factor: 2 };
    refuses(
      { ...LLAMA, rope_scaling: longrope },
      /rope_scaling\.rope_type: RoPE type "longrope" is not supported; supported: default, linear, dynamic, llama3, yarn/,
    );
    refuses(
      { ...LLAMA, rope_parameters: { ...longrope, rope_theta: 1e4 } },
      /rope_parameters\.rope_type: RoPE type "longrope"/,
    );
    refuses(
      { ...LLAMA, rope_scaling: { type: 'su', factor: 2 } },
      /rope_scaling\.type: RoPE type "su" is not supported/,
    );
  });

  it('refuses RoPE keys the type does not read, partial rotation, and missing factors', () => {
    refuses(
      { ...LLAMA, rope_scaling: { rope_type: 'linear', factor: 2, beta_fast: 8 } },
      /rope_scaling\.beta_fast: not read by RoPE type 'linear' and not supported; 'linear' reads: factor/,
    );
    refuses(
      { ...LLAMA, partial_rotary_factor: 0.5 },
      /partial_rotary_factor: partial rotary embeddings \(0\.5\)/,
    );
    refuses(
      { ...LLAMA, rope_scaling: { rope_type: 'dynamic' } },
      /rope_scaling\.factor: expected a positive number, got undefined/,
    );
    refuses({ ...LLAMA, head_dim: 7 }, /head_dim: rotary embeddings need an even head size, got 7/);
  });

  it('refuses Qwen2 layer types that do not fit the layers or name a window that is off', () => {
    const qwen = { ...LLAMA, model_type: 'qwen2' };
    refuses({ ...qwen, layer_types: ['full_attention'] }, /layer_types: has 1 entries for 2 layers/);
    refuses(
      { ...qwen, layer_types: ['full_attention', 'sliding_attention'] },
      /layer_types: names 'sliding_attention' layers but no sliding_window is in use/,
    );
    refuses({ ...qwen, layer_types: ['full_attention', 'chunked_attention'] }, /layer_types\.1/);
  });

  describe('RoPE settings in the transformers 4 and 5 layouts', () => {
    const parse = (c: Record<string, unknown>) => parseRope(c, 4096, 'x');
    it('reads θ under rope_parameters (transformers 5), at the top (4), and 10000 when absent', () => {
      assert.deepEqual(parse({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } }), {
        type: 'default',
        theta: 500000,
      });
      assert.deepEqual(parse({ rope_theta: 500000, rope_scaling: null }), { type: 'default', theta: 500000 });
      assert.deepEqual(parse({}), { type: 'default', theta: 10000 });
    });

    it('prefers rope_scaling to rope_parameters and the dict θ to the top-level one, as transformers does', () => {
      assert.deepEqual(
        parse({
          rope_theta: 1,
          rope_scaling: { type: 'linear', factor: 2 },
          rope_parameters: { rope_theta: 7 },
        }),
        { type: 'linear', theta: 1, factor: 2 },
      );
      assert.deepEqual(parse({ rope_theta: 1, rope_parameters: { rope_type: 'default', rope_theta: 7 } }), {
        type: 'default',
        theta: 7,
      });
      assert.deepEqual(
        parse({ rope_scaling: {}, rope_parameters: { rope_type: 'default', rope_theta: 7 } }),
        {
          type: 'default',
          theta: 7,
        },
      );
    });

    it('defaults llama3 and yarn original lengths to max_position_embeddings, and yarn its attention factor', () => {
      const llama3 = parse({
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 },
      });
      assert.equal(llama3.type === 'llama3' && llama3.originalMaxPositions, 4096);
      const yarn = parse({
        rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 1024 },
      });
      assert.ok(yarn.type === 'yarn');
      assert.equal(yarn.attentionFactor, 0.1 * Math.log(4) + 1);
      assert.deepEqual([yarn.betaFast, yarn.betaSlow, yarn.truncate], [32, 1, true]);
    });
  });
});
