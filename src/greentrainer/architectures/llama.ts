/**
 * The Llama family (Llama 2/3, TinyLlama, Mistral-style dense models) as Hugging Face's
 * `LlamaForCausalLM` builds it: RMSNorm, rotary positions, SwiGLU, grouped-query attention
 * (`num_key_value_heads`), no biases unless `attention_bias`/`mlp_bias`, untied output by default.
 */
import { z } from 'zod';
import type { AttentionOp, LinearOp, ModelSpec } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { activationOf, parseConfig, positiveInt, requireDivisible } from './hf-config.js';

export const LlamaConfig = z.looseObject({
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  tie_word_embeddings: z.boolean().default(false),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
});
export type LlamaConfig = z.infer<typeof LlamaConfig>;

export function buildLlama(raw: unknown, source: string): ModelSpec {
  const c = parseConfig(LlamaConfig, raw, source);
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  if (c.head_dim == null)
    requireDivisible(source, ['hidden_size', c.hidden_size], ['num_attention_heads', heads]);
  requireDivisible(source, ['num_attention_heads', heads], ['num_key_value_heads', kvHeads]);
  const fn = activationOf(source, 'hidden_act', c.hidden_act);
  const d = c.hidden_size;
  const headDim = c.head_dim ?? d / heads;
  const s = 'decoder' as const;
  const b = new SpecBuilder('llama', false);

  const embed = b.embedding('model.embed_tokens', s, c.vocab_size, d, 'embeddings');
  const lmHead = outputHead(b, embed, c.vocab_size, d, c.tie_word_embeddings);
  const norm = b.norm('model.norm', s, 'rmsnorm', d, 'final');
  b.through(norm);

  const loraTargets: LinearOp[] = [];
  const prefixTargets: AttentionOp[] = [];
  for (let i = c.num_hidden_layers - 1; i >= 0; i--) {
    const p = `model.layers.${i}`;
    const layer = `decoder.${i}`;
    preNormResidual(b, b.norm(`${p}.post_attention_layernorm`, s, 'rmsnorm', d, layer), `${p}.mlp`, () =>
      mlpSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ffnDim: c.intermediate_size,
        fn,
        bias: c.mlp_bias,
        layout: 'out_in',
        up: `${p}.mlp.up_proj`,
        gate: `${p}.mlp.gate_proj`,
        down: `${p}.mlp.down_proj`,
        act: `${p}.mlp.act_fn`,
      }),
    );
    preNormResidual(b, b.norm(`${p}.input_layernorm`, s, 'rmsnorm', d, layer), `${p}.self_attn`, () => {
      const t = attentionSublayer(b, {
        stream: s,
        layer,
        dim: d,
        bias: c.attention_bias,
        layout: 'out_in',
        projections: {
          type: 'split',
          q: `${p}.self_attn.q_proj`,
          k: `${p}.self_attn.k_proj`,
          v: `${p}.self_attn.v_proj`,
        },
        out: `${p}.self_attn.o_proj`,
        core: `${p}.self_attn`,
        attention: { heads, kvHeads, headDim, scaled: true, masked: true, rotary: true },
      });
      loraTargets.push(...t.loraTargets);
      prefixTargets.push(t.core);
    });
  }

  b.dw(embed);
  return b.build({ outputEmbedding: lmHead.weight, topLayer: [norm.weight], loraTargets, prefixTargets });
}
