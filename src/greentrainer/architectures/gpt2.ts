/**
 * GPT-2 as Hugging Face's `GPT2LMHeadModel` builds it: `Conv1D` weights stored `[in, out]`, a
 * fused `c_attn` Q/K/V projection, learned positions, gelu-tanh, and an output projection tied to
 * `wte` unless `tie_word_embeddings` is false.
 */
import { z } from 'zod';
import type { AttentionOp, LinearOp, ModelSpec } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { activationOf, parseConfig, positiveInt, requireDivisible } from './hf-config.js';

export const Gpt2Config = z.looseObject({
  vocab_size: positiveInt,
  n_positions: positiveInt,
  n_embd: positiveInt,
  n_layer: positiveInt,
  n_head: positiveInt,
  n_inner: positiveInt.nullish(),
  activation_function: z.string().default('gelu_new'),
  tie_word_embeddings: z.boolean().default(true),
  layer_norm_epsilon: z.number().positive().default(1e-5),
  scale_attn_weights: z.boolean().default(true),
});
export type Gpt2Config = z.infer<typeof Gpt2Config>;

export function buildGpt2(raw: unknown, source: string): ModelSpec {
  const c = parseConfig(Gpt2Config, raw, source);
  requireDivisible(source, ['n_embd', c.n_embd], ['n_head', c.n_head]);
  const fn = activationOf(source, 'activation_function', c.activation_function);
  const d = c.n_embd;
  const s = 'decoder' as const;
  const b = new SpecBuilder('gpt2', false);
  const lin = { bias: true, layout: 'in_out' as const };

  const wte = b.embedding('transformer.wte', s, c.vocab_size, d, 'embeddings');
  const lmHead = outputHead(b, wte, c.vocab_size, d, c.tie_word_embeddings);
  const lnF = b.norm('transformer.ln_f', s, 'layernorm', d, 'final');
  b.through(lnF);

  const loraTargets: LinearOp[] = [];
  const prefixTargets: AttentionOp[] = [];
  for (let i = c.n_layer - 1; i >= 0; i--) {
    const p = `transformer.h.${i}`;
    const layer = `decoder.${i}`;
    preNormResidual(b, b.norm(`${p}.ln_2`, s, 'layernorm', d, layer), `${p}.mlp`, () =>
      mlpSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ffnDim: c.n_inner ?? 4 * d,
        fn,
        ...lin,
        up: `${p}.mlp.c_fc`,
        down: `${p}.mlp.c_proj`,
        act: `${p}.mlp.act`,
      }),
    );
    preNormResidual(b, b.norm(`${p}.ln_1`, s, 'layernorm', d, layer), `${p}.attn`, () => {
      const t = attentionSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ...lin,
        projections: { type: 'fused', id: `${p}.attn.c_attn` },
        out: `${p}.attn.c_proj`,
        core: `${p}.attn`,
        attention: {
          heads: c.n_head,
          kvHeads: c.n_head,
          headDim: d / c.n_head,
          scaled: true,
          masked: true,
          rotary: false,
        },
      });
      loraTargets.push(...t.loraTargets);
      prefixTargets.push(t.core);
    });
  }

  const wpe = b.embedding('transformer.wpe', s, c.n_positions, d, 'embeddings');
  b.dx(b.add('transformer.embeddings', s, d));
  b.dw(wpe);
  b.dw(wte);
  return b.build({
    outputEmbedding: lmHead.weight,
    topLayer: [lnF.weight, lnF.bias!],
    loraTargets,
    prefixTargets,
  });
}
