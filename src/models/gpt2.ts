/**
 * GPT-2 in TensorFlow.js, computing what Hugging Face's `GPT2LMHeadModel` computes: learned
 * positions 0…S−1, pre-LayerNorm blocks, fused `c_attn` (Conv1D weights are already [in, out]),
 * gelu-tanh, output tied to `wte` by default.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Gpt2Config } from '../greentrainer/architectures/gpt2.js';
import { activationOf } from '../greentrainer/architectures/hf-config.js';
import { attention, causalBias, type LayerCache } from './attention.js';
import {
  arangePositions,
  type DecoderInputs,
  type DecoderOutput,
  decoderLayers,
  embed,
  project,
} from './decoder.js';
import { activate, add, dense as denseOf, layerNorm } from './layers.js';
import type { Parameters } from './parameters.js';

export function gpt2Forward(p: Parameters, c: Gpt2Config, x: DecoderInputs): DecoderOutput {
  const [batch, t] = x.ids.shape;
  const d = c.n_embd;
  const heads = c.n_head;
  const eps = c.layer_norm_epsilon;
  const fn = activationOf('config', 'activation_function', c.activation_function);
  const full = (name: string) => `transformer.${name}`;
  const w = (name: string) => p.get(full(name));
  const ln = (h: tf.Tensor2D, name: string) => layerNorm(h, w(`${name}.weight`), w(`${name}.bias`), eps);
  const dense = (h: tf.Tensor2D, name: string) => denseOf(p, h, full(`${name}.weight`), full(`${name}.bias`));

  const pos = arangePositions(batch, t, x.mask.shape[1]);
  let h = add(embed(w('wte.weight'), x.ids), embed(w('wpe.weight'), pos));
  const bias = causalBias(x.mask, t);
  const cache: LayerCache[] = [];
  h = decoderLayers(h, x, c.n_layer, (input, i) => {
    let h = input;
    const l = `h.${i}`;
    const [q, k, v] = tf.split(dense(ln(h, `${l}.ln_1`), `${l}.attn.c_attn`), 3, 1) as [
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
      scale: c.scale_attn_weights ? 1 / Math.sqrt(d / heads) : 1,
      bias,
      ...(x.cache ? { past: x.cache[i]! } : {}),
    });
    cache.push(r.cache);
    h = add(h, dense(r.out, `${l}.attn.c_proj`));
    h = add(
      h,
      dense(activate(fn, dense(ln(h, `${l}.ln_2`), `${l}.mlp.c_fc`)) as tf.Tensor2D, `${l}.mlp.c_proj`),
    );
    return h;
  });
  h = ln(h, 'ln_f');
  return {
    logits: project(p, h, batch, c.tie_word_embeddings ? 'transformer.wte.weight' : undefined),
    cache: x.frozenLayers ? [] : cache,
  };
}
