/**
 * The Llama family in TensorFlow.js, computing what Hugging Face's `LlamaForCausalLM` computes:
 * RMSNorm, rotary positions (rotate-half convention, positions 0…S−1), grouped-query attention,
 * SwiGLU, untied output by default.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationOf } from '../greentrainer/architectures/hf-config.js';
import type { LlamaConfig } from '../greentrainer/architectures/llama.js';
import { attention, causalBias, type LayerCache } from './attention.js';
import { type DecoderInputs, type DecoderOutput, decoderLayers, embed, project } from './decoder.js';
import { activate, add, dense as denseOf, rmsNorm } from './layers.js';
import type { Parameters } from './parameters.js';

export function llamaForward(p: Parameters, c: LlamaConfig, x: DecoderInputs): DecoderOutput {
  const [batch, t] = x.ids.shape;
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? c.hidden_size / heads;
  const fn = activationOf('config', 'hidden_act', c.hidden_act);
  const full = (name: string) => `model.${name}`;
  const w = (name: string) => p.get(full(name));
  const norm = (h: tf.Tensor2D, name: string) => rmsNorm(h, w(`${name}.weight`), c.rms_norm_eps);
  const dense = (h: tf.Tensor2D, name: string, bias: boolean) =>
    denseOf(p, h, full(`${name}.weight`), bias ? full(`${name}.bias`) : undefined);

  let h = embed(w('embed_tokens.weight'), x.ids);
  const bias = causalBias(x.mask, t);
  const { cos, sin } = rotaryTables(x.mask.shape[1] - t, t, hd, c.rope_theta);
  const cache: LayerCache[] = [];
  h = decoderLayers(h, x, c.num_hidden_layers, (input, i) => {
    let h = input;
    const l = `layers.${i}`;
    const a = norm(h, `${l}.input_layernorm`);
    const rope = (y: tf.Tensor2D, n: number) => rotate(y, batch, t, n, hd, cos, sin);
    const r = attention({
      q: rope(dense(a, `${l}.self_attn.q_proj`, c.attention_bias), heads),
      k: rope(dense(a, `${l}.self_attn.k_proj`, c.attention_bias), kvHeads),
      v: dense(a, `${l}.self_attn.v_proj`, c.attention_bias),
      batch,
      heads,
      kvHeads,
      scale: 1 / Math.sqrt(hd),
      bias,
      ...(x.cache ? { past: x.cache[i]! } : {}),
    });
    cache.push(r.cache);
    h = add(h, dense(r.out, `${l}.self_attn.o_proj`, c.attention_bias));
    const m = norm(h, `${l}.post_attention_layernorm`);
    const gated = tf.mul(
      activate(fn, dense(m, `${l}.mlp.gate_proj`, c.mlp_bias)),
      dense(m, `${l}.mlp.up_proj`, c.mlp_bias),
    );
    h = add(h, dense(gated as tf.Tensor2D, `${l}.mlp.down_proj`, c.mlp_bias));
    return h;
  });
  h = norm(h, 'norm');
  return {
    logits: project(p, h, batch, c.tie_word_embeddings ? 'model.embed_tokens.weight' : undefined),
    cache: x.frozenLayers ? [] : cache,
  };
}

/** cos and sin of position·θ^(−2i/hd), duplicated over both halves: [1, T, 1, hd] each. */
function rotaryTables(past: number, t: number, hd: number, theta: number) {
  const half = hd / 2;
  const angles = Array.from({ length: t * hd }, (_, k) => {
    const pos = past + Math.floor(k / hd);
    const i = (k % hd) % half;
    return pos / theta ** ((2 * i) / hd);
  });
  return {
    cos: tf.tensor4d(angles.map(Math.cos), [1, t, 1, hd]),
    sin: tf.tensor4d(angles.map(Math.sin), [1, t, 1, hd]),
  };
}

/** x·cos + rotate_half(x)·sin per head, rotate_half(x) = [−x₂, x₁]. [B·T, n·hd] → same. */
function rotate(
  y: tf.Tensor2D,
  batch: number,
  t: number,
  n: number,
  hd: number,
  cos: tf.Tensor,
  sin: tf.Tensor,
): tf.Tensor2D {
  const x = tf.reshape(y, [batch, t, n, hd]); // [B, T, n, hd]
  const [x1, x2] = tf.split(x, 2, 3);
  const rotated = tf.concat([tf.neg(x2!), x1!], 3);
  return tf.reshape(tf.add(tf.mul(x, cos), tf.mul(rotated, sin)), [batch * t, n * hd]);
}
