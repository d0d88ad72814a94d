/**
 * OPT (Zhang et al., 2022) as Hugging Face's `OPTForCausalLM` builds it: learned positions with an
 * offset of 2, optional `project_in`/`project_out` when `word_embed_proj_dim` differs from the
 * hidden size (opt-350m), pre- or post-LayerNorm blocks (`do_layer_norm_before`), and an output
 * projection tied to `embed_tokens` unless `tie_word_embeddings` is false.
 */
import { z } from 'zod';
import type { AttentionOp, LinearOp, ModelSpec, NormOp } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { activationOf, parseConfig, positiveInt, requireDivisible } from './hf-config.js';

export const OptConfig = z.looseObject({
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  num_hidden_layers: positiveInt,
  ffn_dim: positiveInt,
  num_attention_heads: positiveInt,
  max_position_embeddings: positiveInt,
  word_embed_proj_dim: positiveInt.optional(),
  do_layer_norm_before: z.boolean().default(true),
  enable_bias: z.boolean().default(true),
  _remove_final_layer_norm: z.boolean().default(false),
  tie_word_embeddings: z.boolean().default(true),
  activation_function: z.string().default('relu'),
  layer_norm_eps: z.number().positive().default(1e-5),
  // LayerNorms without weights and biases are not supported (no OPT checkpoint uses them).
  layer_norm_elementwise_affine: z.literal(true).default(true),
});
export type OptConfig = z.infer<typeof OptConfig>;

/** OPT's learned positions start at index 2 (fairseq's padding offset). */
const POSITION_OFFSET = 2;

export function buildOpt(raw: unknown, source: string): ModelSpec {
  const c = parseConfig(OptConfig, raw, source);
  requireDivisible(source, ['hidden_size', c.hidden_size], ['num_attention_heads', c.num_attention_heads]);
  const d = c.hidden_size;
  const projDim = c.word_embed_proj_dim ?? d;
  const preNorm = c.do_layer_norm_before;
  const s = 'decoder' as const;
  const b = new SpecBuilder('opt', false);
  const lin = { bias: c.enable_bias, layout: 'out_in' as const };

  const embedTokens = b.embedding('model.decoder.embed_tokens', s, c.vocab_size, projDim, 'embeddings');
  const lmHead = outputHead(b, embedTokens, c.vocab_size, projDim, c.tie_word_embeddings);

  const topLayer: string[] = [];
  if (projDim !== d) {
    const out = b.linear('model.decoder.project_out', s, d, projDim, {
      bias: false,
      layout: 'out_in',
      layer: 'final',
    });
    b.through(out);
    topLayer.push(out.weight);
  }
  if (preNorm && !c._remove_final_layer_norm) {
    const norm = b.norm('model.decoder.final_layer_norm', s, 'layernorm', d, 'final');
    b.through(norm);
    if (topLayer.length === 0) topLayer.push(norm.weight, norm.bias!);
  }

  const loraTargets: LinearOp[] = [];
  const prefixTargets: AttentionOp[] = [];
  for (let i = c.num_hidden_layers - 1; i >= 0; i--) {
    const p = `model.decoder.layers.${i}`;
    const layer = `decoder.${i}`;
    const attnNorm = b.norm(`${p}.self_attn_layer_norm`, s, 'layernorm', d, layer);
    const mlpNorm = b.norm(`${p}.final_layer_norm`, s, 'layernorm', d, layer);
    const mlp = () =>
      mlpSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ffnDim: c.ffn_dim,
        fn: activationOf(source, 'activation_function', c.activation_function),
        ...lin,
        up: `${p}.fc1`,
        down: `${p}.fc2`,
        act: `${p}.activation_fn`,
      });
    const attention = () => {
      const t = attentionSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ...lin,
        projections: {
          type: 'split',
          q: `${p}.self_attn.q_proj`,
          k: `${p}.self_attn.k_proj`,
          v: `${p}.self_attn.v_proj`,
        },
        out: `${p}.self_attn.out_proj`,
        core: `${p}.self_attn`,
        attention: {
          heads: c.num_attention_heads,
          kvHeads: c.num_attention_heads,
          headDim: d / c.num_attention_heads,
          scaled: true,
          masked: true,
          rotary: false,
        },
      });
      loraTargets.push(...t.loraTargets);
      prefixTargets.push(t.core);
    };
    if (preNorm) {
      preNormResidual(b, mlpNorm, `${p}.mlp`, mlp);
      preNormResidual(b, attnNorm, `${p}.self_attn`, attention);
    } else {
      postNormResidual(b, mlpNorm, `${p}.mlp`, mlp);
      postNormResidual(b, attnNorm, `${p}.self_attn`, attention);
    }
  }
  if (topLayer.length === 0)
    throw new Error(`${source}: OPT without final norm or projection is not supported`);

  const positions = b.embedding(
    'model.decoder.embed_positions',
    s,
    c.max_position_embeddings + POSITION_OFFSET,
    d,
    'embeddings',
  );
  b.dx(b.add('model.decoder.embeddings', s, d));
  b.dw(positions);
  if (projDim !== d) {
    const projectIn = b.linear('model.decoder.project_in', s, projDim, d, {
      bias: false,
      layout: 'out_in',
      layer: 'embeddings',
    });
    b.through(projectIn);
  }
  b.dw(embedTokens);

  return b.build({
    outputEmbedding: lmHead.weight,
    topLayer,
    loraTargets,
    prefixTargets,
  });
}

/** Post-norm residual (opt-350m): y = norm(x + f(x)). */
function postNormResidual(b: SpecBuilder, norm: NormOp, id: string, inner: () => void): void {
  b.through(norm);
  b.dx(b.add(`${id}.residual`, norm.stream, norm.dim));
  inner();
  b.fork(`${id}.input`, norm.stream, norm.dim, 2);
}
