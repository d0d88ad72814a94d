/**
 * BLOOM in TensorFlow.js, computing what Hugging Face's `BloomForCausalLM` computes: a LayerNorm
 * on the word embeddings, ALiBi biases counted over real tokens, a fused `query_key_value` whose
 * output interleaves Q, K and V per head, gelu-tanh, output tied to `word_embeddings`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BloomSizes } from '../greentrainer/architectures/bloom.js';
import { attention, causalBias, type LayerCache } from './attention.js';
import { type DecoderInputs, type DecoderOutput, decoderLayers, embed, project } from './decoder.js';
import { activate, add, dense as denseOf, layerNorm } from './layers.js';
import type { Parameters } from './parameters.js';

export function bloomForward(p: Parameters, c: BloomSizes, x: DecoderInputs): DecoderOutput {
  const [batch, t] = x.ids.shape;
  const { hidden: d, heads, eps } = c;
  const hd = d / heads;
  const full = (name: string) => `transformer.${name}`;
  const w = (name: string) => p.get(full(name));
  const ln = (h: tf.Tensor2D, name: string) => layerNorm(h, w(`${name}.weight`), w(`${name}.bias`), eps);
  const dense = (h: tf.Tensor2D, name: string) => denseOf(p, h, full(`${name}.weight`), full(`${name}.bias`));

  let h = ln(embed(w('word_embeddings.weight'), x.ids), 'word_embeddings_layernorm');
  const bias = add(alibi(x.mask, heads), causalBias(x.mask, t)); // [B, H, T, S]
  const cache: LayerCache[] = [];
  h = decoderLayers(h, x, c.layers, (input, i) => {
    let h = input;
    const l = `h.${i}`;
    const fused = dense(ln(h, `${l}.input_layernorm`), `${l}.self_attention.query_key_value`); // [B·T, 3·H·hd]
    // Per head the fused output holds [q | k | v]: view it as [B·T·H, 3·hd] and split the columns.
    const [q, k, v] = tf
      .split(tf.reshape(fused, [-1, 3 * hd]), 3, 1)
      .map((part) => tf.reshape(part, [batch * t, heads * hd]) as tf.Tensor2D) as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    const r = attention({
      q,
      k,
      v,
      batch,
      heads,
      kvHeads: heads,
      scale: 1 / Math.sqrt(hd),
      bias,
      ...(x.cache ? { past: x.cache[i]! } : {}),
    });
    cache.push(r.cache);
    h = add(h, dense(r.out, `${l}.self_attention.dense`));
    const up = dense(ln(h, `${l}.post_attention_layernorm`), `${l}.mlp.dense_h_to_4h`);
    h = add(h, dense(activate('gelu_tanh', up) as tf.Tensor2D, `${l}.mlp.dense_4h_to_h`));
    return h;
  });
  h = ln(h, 'ln_f');
  return {
    logits: project(p, h, batch, c.tied ? 'transformer.word_embeddings.weight' : undefined),
    cache: x.frozenLayers ? [] : cache,
  };
}

/** ALiBi slopes of Press et al. as Hugging Face's build_alibi_tensor computes them. */
export function alibiSlopes(heads: number): number[] {
  const closest = 2 ** Math.floor(Math.log2(heads));
  const base = 2 ** -(2 ** -(Math.log2(closest) - 3));
  const slopes = Array.from({ length: closest }, (_, i) => base ** (i + 1));
  if (closest !== heads) {
    const extraBase = 2 ** -(2 ** -(Math.log2(2 * closest) - 3));
    const extra = Math.min(closest, heads - closest);
    for (let i = 0; i < extra; i++) slopes.push(extraBase ** (2 * i + 1));
  }
  return slopes;
}

/** slope_h · (position of key j among real tokens): [B, H, 1, S]. */
function alibi(mask: tf.Tensor2D, heads: number): tf.Tensor4D {
  const [batch, s] = mask.shape;
  const keyPositions = tf.mul(tf.sub(tf.cumsum(mask, 1), 1), mask); // [B, S]
  const slopes = tf.tensor4d(alibiSlopes(heads), [1, heads, 1, 1]);
  return tf.mul(slopes, tf.reshape(keyPositions, [batch, 1, 1, s])) as tf.Tensor4D;
}
