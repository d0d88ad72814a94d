/**
 * OPT in TensorFlow.js, computing what Hugging Face's `OPTForCausalLM` computes: learned
 * positions offset by 2 and counted over real tokens only, pre- or post-LayerNorm blocks,
 * optional `project_in`/`project_out`, ReLU FFN, output tied to `embed_tokens` by default.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationOf } from '../greentrainer/architectures/hf-config.js';
import type { OptConfig } from '../greentrainer/architectures/opt.js';
import { attention, causalBias, type LayerCache } from './attention.js';
import { type DecoderInputs, type DecoderOutput, decoderLayers, embed, project } from './decoder.js';
import { activate, add, dense as denseOf, layerNorm, linear } from './layers.js';
import type { Parameters } from './parameters.js';

const POSITION_OFFSET = 2;

export function optForward(p: Parameters, c: OptConfig, x: DecoderInputs): DecoderOutput {
  const [batch, t] = x.ids.shape;
  const d = c.hidden_size;
  const heads = c.num_attention_heads;
  const eps = c.layer_norm_eps;
  const fn = activationOf('config', 'activation_function', c.activation_function);
  const full = (name: string) => `model.decoder.${name}`;
  const w = (name: string) => p.get(full(name));
  const ln = (h: tf.Tensor2D, name: string) => layerNorm(h, w(`${name}.weight`), w(`${name}.bias`), eps);
  const dense = (h: tf.Tensor2D, name: string) =>
    denseOf(p, h, full(`${name}.weight`), c.enable_bias ? full(`${name}.bias`) : undefined);

  let h = embed(w('embed_tokens.weight'), x.ids); // [B·T, proj]
  if ((c.word_embed_proj_dim ?? d) !== d) h = linear(h, w('project_in.weight'));
  h = add(h, embed(w('embed_positions.weight'), positions(x.mask, t)));
  const bias = causalBias(x.mask, t);

  const cache: LayerCache[] = [];
  h = decoderLayers(h, x, c.num_hidden_layers, (input, i) => {
    let h = input;
    const l = `layers.${i}`;
    const selfAttention = (a: tf.Tensor2D) => {
      const r = attention({
        q: dense(a, `${l}.self_attn.q_proj`),
        k: dense(a, `${l}.self_attn.k_proj`),
        v: dense(a, `${l}.self_attn.v_proj`),
        batch,
        heads,
        kvHeads: heads,
        scale: 1 / Math.sqrt(d / heads),
        bias,
        ...(x.cache ? { past: x.cache[i]! } : {}),
      });
      cache.push(r.cache);
      return dense(r.out, `${l}.self_attn.out_proj`);
    };
    const mlp = (a: tf.Tensor2D) => dense(activate(fn, dense(a, `${l}.fc1`)), `${l}.fc2`);
    if (c.do_layer_norm_before) {
      h = add(h, selfAttention(ln(h, `${l}.self_attn_layer_norm`)));
      h = add(h, mlp(ln(h, `${l}.final_layer_norm`)));
    } else {
      h = ln(add(h, selfAttention(h)), `${l}.self_attn_layer_norm`);
      h = ln(add(h, mlp(h)), `${l}.final_layer_norm`);
    }
    return h;
  });
  if (c.do_layer_norm_before && !c._remove_final_layer_norm) h = ln(h, 'final_layer_norm');
  if ((c.word_embed_proj_dim ?? d) !== d) h = linear(h, w('project_out.weight'));
  const logits = project(
    p,
    h,
    batch,
    c.tie_word_embeddings ? 'model.decoder.embed_tokens.weight' : undefined,
  );
  return { logits, cache: x.frozenLayers ? [] : cache };
}

/** (cumsum(mask) · mask − 1) + 2 for the new positions: padding maps to row 1. [B·T] int32. */
function positions(mask: tf.Tensor2D, newTokens: number): tf.Tensor1D {
  const [batch, s] = mask.shape;
  const counted = tf.sub(tf.mul(tf.cumsum(mask, 1), mask), 1 - POSITION_OFFSET);
  const fresh = tf.slice(counted, [0, s - newTokens], [batch, newTokens]);
  return tf.cast(tf.reshape(fresh, [-1]), 'int32') as tf.Tensor1D;
}
