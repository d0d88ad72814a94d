import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadModel } from '../../src/models/checkpoint.js';
import { generate } from '../../src/models/generate.js';
import { SafetensorsReader } from '../../src/models/safetensors.js';
import { assertClose, parityBackends, useBackend } from '../helpers/backend.js';

/** Reference numbers written by Hugging Face's own PyTorch code (test/fixtures/make-golden.py). */
interface Golden {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  decoder_input_ids?: number[][];
  loss: number;
  labels_prompt_masked: number[][];
  loss_prompt_masked: number;
  parameter_names: string[];
  parameter_shapes: Record<string, number[]> | number[][];
  generation: {
    prompt_ids: number[][];
    max_new_tokens: number;
    eos_token_id: number;
    greedy: number[][];
    beam4: number[][];
  };
}

const CASES = [
  'opt',
  'opt-350m-style',
  'gpt2',
  'bloom',
  'llama',
  't5',
  't5-tied',
  't5-ours',
  'qwen2',
  'mistral',
  'llama-rope-llama3',
  'llama-rope-linear',
  'llama-rope-dynamic',
  'llama-rope-yarn',
  'llama-theta-500k',
];
const fixture = (name: string) => new URL(`../fixtures/golden/${name}/`, import.meta.url).pathname;

function read(name: string) {
  const golden = JSON.parse(readFileSync(`${fixture(name)}golden.json`, 'utf8')) as Golden;
  const reference = SafetensorsReader.open(`${fixture(name)}golden.safetensors`);
  return { golden, reference };
}

describe('models: golden fixtures from Hugging Face', () => {
  const backends = parityBackends();
  before(() => console.log(`      golden fixtures run on: ${backends.join(', ')}`));
  for (const backend of backends) {
    for (const name of CASES) {
      describe(`${name} on ${backend}`, () => {
        const { golden, reference } = read(name);
        let model: ReturnType<typeof loadModel>;
        before(async () => {
          await useBackend(backend);
          model = loadModel(fixture(name));
        });
        after(() => model.dispose());
        const inputs = () => ({
          ids: tf.tensor2d(golden.input_ids, undefined, 'int32'),
          mask: tf.tensor2d(golden.attention_mask),
        });
        // T5 gets the decoder inputs Hugging Face made by shifting the labels right.
        const decoderIds = () => tf.tensor2d(golden.decoder_input_ids ?? [[0]], undefined, 'int32');
        const logitsOf = (ids: tf.Tensor2D, mask: tf.Tensor2D) =>
          model instanceof CausalLM
            ? model.forward({ ids, mask }).logits
            : model.forward({ ids, mask, decoderIds: decoderIds() }).logits;
        const lossOf = (ids: tf.Tensor2D, mask: tf.Tensor2D, labels: tf.Tensor2D) =>
          model instanceof CausalLM
            ? model.loss(ids, mask, labels)
            : model.loss(ids, mask, decoderIds(), labels);

        it("has exactly Hugging Face's named parameters", () => {
          assert.deepEqual([...model.params.names()].sort(), [...golden.parameter_names].sort());
        });

        it('computes the same logits (max |Δ| < 1e-4) and loss (relative < 1e-5)', () => {
          const { ids, mask } = inputs();
          const logits = tf.tidy(() => logitsOf(ids, mask));
          assertClose(logits.dataSync(), reference.read('logits'), 1e-4, 'logits');
          for (const [labels, expected] of [
            [golden.labels, golden.loss],
            [golden.labels_prompt_masked, golden.loss_prompt_masked],
          ] as const) {
            const loss = tf.tidy(() =>
              lossOf(ids, mask, tf.tensor2d(labels as number[][], undefined, 'int32')),
            );
            const got = loss.dataSync()[0]!;
            assert.ok(Math.abs(got - expected) / expected < 1e-5, `loss ${got} vs ${expected}`);
            loss.dispose();
          }
          tf.dispose([ids, mask, logits]);
        });

        it('computes the same gradient for every parameter (relative < 1e-4)', () => {
          const { ids, mask } = inputs();
          const labels = tf.tensor2d(golden.labels, undefined, 'int32');
          const { value, grads } = tf.variableGrads(() => lossOf(ids, mask, labels), model.params.list());
          for (const t of model.params.specs) {
            const g = grads[model.params.get(t.name).name]!;
            const hf = t.layout === 'out_in' ? tf.transpose(g) : g;
            const expected = reference.read(`grad.${t.name}`);
            // A key bias has an exactly zero gradient (softmax ignores a shift shared by all keys); HF's is
            // float noise near 1e-8, so tensors are compared relative to max(|g|, 1e-3).
            const scale = Math.max(...Array.from(expected, Math.abs), 1e-3);
            assertClose(
              Float32Array.from(hf.dataSync(), (v) => v / scale),
              Float32Array.from(expected, (v) => v / scale),
              1e-4,
              t.name,
            );
            if (hf !== g) hf.dispose();
          }
          tf.dispose([ids, mask, labels, value, ...Object.values(grads)]);
        });

        it('generates what Hugging Face generates, greedy and with 4 beams', () => {
          const g = golden.generation;
          const options = { maxNewTokens: g.max_new_tokens, eosTokenIds: [g.eos_token_id] };
          assert.deepEqual(generate(model, g.prompt_ids[0]!, options), g.greedy[0]);
          assert.deepEqual(generate(model, g.prompt_ids[0]!, { ...options, numBeams: 4 }), g.beam4[0]);
        });
      });
    }
  }
});
