/**
 * BLOOM as Hugging Face's `BloomForCausalLM` builds it: ALiBi instead of positions, a LayerNorm
 * right after the word embeddings, a fused `query_key_value` projection, gelu-tanh, and an output
 * projection tied to `word_embeddings`.
 */
import { z } from 'zod';
import { ModelConfigError } from '../errors.js';
import type { AttentionOp, LinearOp, ModelSpec } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { parseConfig, positiveInt, requireDivisible } from './hf-config.js';

export const BloomConfig = z.looseObject({
  vocab_size: positiveInt,
  // BloomConfig accepts both spellings of each size (older checkpoints use n_embed / n_head).
  hidden_size: positiveInt.optional(),
  n_embed: positiveInt.optional(),
  n_layer: positiveInt.optional(),
  num_hidden_layers: positiveInt.optional(),
  n_head: positiveInt.optional(),
  num_attention_heads: positiveInt.optional(),
  apply_residual_connection_post_layernorm: z.boolean().default(false),
  tie_word_embeddings: z.boolean().default(true),
  layer_norm_epsilon: z.number().positive().default(1e-5),
});

/** BLOOM's sizes under whichever spelling the config uses. */
export interface BloomSizes {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly vocab: number;
  readonly tied: boolean;
  readonly eps: number;
}

export function parseBloom(raw: unknown, source: string): BloomSizes {
  const c = parseConfig(BloomConfig, raw, source);
  return {
    hidden: either(source, ['hidden_size', c.hidden_size], ['n_embed', c.n_embed]),
    layers: either(source, ['n_layer', c.n_layer], ['num_hidden_layers', c.num_hidden_layers]),
    heads: either(source, ['n_head', c.n_head], ['num_attention_heads', c.num_attention_heads]),
    vocab: c.vocab_size,
    tied: c.tie_word_embeddings,
    eps: c.layer_norm_epsilon,
  };
}

export function buildBloom(raw: unknown, source: string): ModelSpec {
  const c = parseConfig(BloomConfig, raw, source);
  const { hidden: d, layers, heads } = parseBloom(raw, source);
  if (c.apply_residual_connection_post_layernorm) {
    throw new ModelConfigError(source, [
      {
        path: 'apply_residual_connection_post_layernorm',
        message: 'only false (every released BLOOM) is supported',
      },
    ]);
  }
  requireDivisible(source, ['hidden_size', d], ['n_head', heads]);
  const s = 'decoder' as const;
  const b = new SpecBuilder('bloom', false);
  const lin = { bias: true, layout: 'out_in' as const };

  const wte = b.embedding('transformer.word_embeddings', s, c.vocab_size, d, 'embeddings');
  const lmHead = outputHead(b, wte, c.vocab_size, d, c.tie_word_embeddings);
  const lnF = b.norm('transformer.ln_f', s, 'layernorm', d, 'final');
  b.through(lnF);

  const loraTargets: LinearOp[] = [];
  const prefixTargets: AttentionOp[] = [];
  for (let i = layers - 1; i >= 0; i--) {
    const p = `transformer.h.${i}`;
    const layer = `decoder.${i}`;
    preNormResidual(b, b.norm(`${p}.post_attention_layernorm`, s, 'layernorm', d, layer), `${p}.mlp`, () =>
      mlpSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ffnDim: 4 * d,
        fn: 'gelu_tanh',
        ...lin,
        up: `${p}.mlp.dense_h_to_4h`,
        down: `${p}.mlp.dense_4h_to_h`,
        act: `${p}.mlp.gelu_impl`,
      }),
    );
    preNormResidual(
      b,
      b.norm(`${p}.input_layernorm`, s, 'layernorm', d, layer),
      `${p}.self_attention`,
      () => {
        const t = attentionSublayer(b, {
          stream: s,
          layer,
          dim: d,
          ...lin,
          projections: { type: 'fused', id: `${p}.self_attention.query_key_value` },
          out: `${p}.self_attention.dense`,
          core: `${p}.self_attention`,
          attention: {
            heads,
            kvHeads: heads,
            headDim: d / heads,
            scaled: true,
            masked: true,
            rotary: false,
            positionBias: { type: 'alibi' },
          },
        });
        loraTargets.push(...t.loraTargets);
        prefixTargets.push(t.core);
      },
    );
  }

  const embNorm = b.norm('transformer.word_embeddings_layernorm', s, 'layernorm', d, 'embeddings');
  b.through(embNorm);
  b.dw(wte);
  return b.build({
    outputEmbedding: lmHead.weight,
    topLayer: [lnF.weight, lnF.bias!],
    loraTargets,
    prefixTargets,
  });
}

function either(source: string, a: [string, number | undefined], b: [string, number | undefined]): number {
  const v = a[1] ?? b[1];
  if (v === undefined) {
    throw new ModelConfigError(source, [
      { path: a[0], message: `expected a positive integer ${a[0]} (or ${b[0]})` },
    ]);
  }
  return v;
}
