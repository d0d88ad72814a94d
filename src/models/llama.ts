/**
 * The Llama family in TensorFlow.js (Llama, Qwen2, Mistral), computing what Hugging Face's
 * `LlamaForCausalLM`, `Qwen2ForCausalLM` and `MistralForCausalLM` compute: RMSNorm, rotary
 * positions (positions 0…S−1, any RoPE type of `rope.ts`), grouped-query attention with an
 * optional sliding window, SwiGLU, untied output by default.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationOf } from '../greentrainer/architectures/hf-config.js';
import type { LlamaConfig } from '../greentrainer/architectures/llama.js';
import { attention, causalBias, type LayerCache } from './attention.js';
import { type DecoderInputs, type DecoderOutput, decoderLayers, embed, project } from './decoder.js';
import { activate, add, dense as denseOf, rmsNorm } from './layers.js';
import type { Parameters } from './parameters.js';
import { rotaryTables, rotate } from './rope.js';

export function llamaForward(p: Parameters, c: LlamaConfig, x: DecoderInputs): DecoderOutput {
  const [batch, t] = x.ids.shape;
  const hd = c.headDim;
  const fn = activationOf('config', 'hidden_act', c.hiddenAct);
  const full = (name: string) => `model.${name}`;
  const w = (name: string) => p.get(full(name));
  const norm = (h: tf.Tensor2D, name: string) => rmsNorm(h, w(`${name}.weight`), c.rmsNormEps);
  const dense = (h: tf.Tensor2D, name: string, bias: boolean) =>
    denseOf(p, h, full(`${name}.weight`), bias ? full(`${name}.bias`) : undefined);

  let h = embed(w('embed_tokens.weight'), x.ids);
  // One mask per distinct window, made before the blocks (a frozen block's tidy would free it).
  const biases = new Map(c.windows.map((wnd) => [wnd, causalBias(x.mask, t, wnd)]));
  const tables = rotaryTables(c.rope, x.mask.shape[1] - t, t, hd);
  const cache: LayerCache[] = [];
  h = decoderLayers(h, x, c.layers, (input, i) => {
    let h = input;
    const l = `layers.${i}`;
    const a = norm(h, `${l}.input_layernorm`);
    const rope = (y: tf.Tensor2D, n: number) => rotate(y, batch, t, n, hd, tables);
    const r = attention({
      q: rope(dense(a, `${l}.self_attn.q_proj`, c.qkvBias), c.heads),
      k: rope(dense(a, `${l}.self_attn.k_proj`, c.qkvBias), c.kvHeads),
      v: dense(a, `${l}.self_attn.v_proj`, c.qkvBias),
      batch,
      heads: c.heads,
      kvHeads: c.kvHeads,
      scale: 1 / Math.sqrt(hd),
      bias: biases.get(c.windows[i]!)!,
      ...(x.cache ? { past: x.cache[i]! } : {}),
    });
    cache.push(r.cache);
    h = add(h, dense(r.out, `${l}.self_attn.o_proj`, c.outBias));
    const m = norm(h, `${l}.post_attention_layernorm`);
    const gated = tf.mul(
      activate(fn, dense(m, `${l}.mlp.gate_proj`, c.mlpBias)),
      dense(m, `${l}.mlp.up_proj`, c.mlpBias),
    );
    h = add(h, dense(gated as tf.Tensor2D, `${l}.mlp.down_proj`, c.mlpBias));
    return h;
  });
  h = norm(h, 'norm');
  return {
    logits: project(p, h, batch, c.tied ? 'model.embed_tokens.weight' : undefined),
    cache: x.frozenLayers ? [] : cache,
  };
}
