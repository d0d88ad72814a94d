/**
 * T5 and FLAN-T5 as Hugging Face's `T5ForConditionalGeneration` builds them: an encoder over the
 * input and a decoder over the output, RMS-style `T5LayerNorm`, unscaled attention with a learned
 * relative position bias owned by block 0 and reused by every block of its stack, plain or gated
 * FFN (`feed_forward_proj`), one `shared` embedding for both stacks, and an `lm_head` that is tied
 * to it unless the checkpoint unties it. transformers 5 reads a config's `tie_word_embeddings: false`
 * (T5 v1.1, FLAN-T5) as `scale_decoder_outputs: false` and always ties; a checkpoint that stores
 * an `lm_head.weight` different from `shared.weight` stays untied. From a config alone, an
 * unscaled T5 is taken to be untied (FLAN-T5); the loader decides from the checkpoint.
 *
 * Backpropagation order: the decoder from its top down, then the encoder, whose output gradient
 * gathers the K/V projections of every cross-attention. A mask that trains the encoder is charged
 * for decoder block 0's self-attention backward, which it does not need (the encoder output feeds
 * cross-attention only); the chain model cannot express that branch, and errs on the safe side.
 */
import { z } from 'zod';
import type { AttentionOp, LinearOp, ModelSpec, Stream } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { activationOf, parseConfig, positiveInt } from './hf-config.js';

export const T5Config = z.looseObject({
  vocab_size: positiveInt,
  d_model: positiveInt,
  d_kv: positiveInt,
  d_ff: positiveInt,
  num_layers: positiveInt,
  num_decoder_layers: positiveInt.nullish(),
  num_heads: positiveInt,
  relative_attention_num_buckets: positiveInt.default(32),
  feed_forward_proj: z.string().default('relu'),
  tie_word_embeddings: z.boolean().default(true),
  scale_decoder_outputs: z.boolean().optional(),
  relative_attention_max_distance: positiveInt.default(128),
  layer_norm_epsilon: z.number().positive().default(1e-6),
  decoder_start_token_id: z.number().int().nonnegative().default(0),
});
export type T5Config = z.infer<typeof T5Config>;

/**
 * Whether the decoder output is scaled by d^−½ before lm_head, as transformers 5's `T5Config` decides:
 * `scale_decoder_outputs` when the config has it, else `tie_word_embeddings` (true by default).
 */
export function t5Scaled(c: T5Config): boolean {
  return c.scale_decoder_outputs ?? c.tie_word_embeddings;
}

/** Whether lm_head shares `shared.weight`, as far as the config tells (the checkpoint decides). */
export function t5Tied(c: T5Config): boolean {
  return t5Scaled(c);
}

/** T5's feed-forward: gated or not, and its activation (HF maps "gated-gelu" to gelu_new). */
export function t5FeedForward(c: T5Config, source: string) {
  const parts = c.feed_forward_proj.split('-');
  const gated = parts[0] === 'gated' && parts.length === 2;
  const actName = c.feed_forward_proj === 'gated-gelu' ? 'gelu_new' : (parts.at(-1) ?? '');
  return { gated, fn: activationOf(source, 'feed_forward_proj', actName) };
}

interface StackContext {
  readonly b: SpecBuilder;
  readonly d: number;
  readonly heads: number;
  readonly dKv: number;
  readonly dFf: number;
  readonly gated: boolean;
  readonly fn: ReturnType<typeof activationOf>;
  readonly loraTargets: LinearOp[];
  readonly prefixTargets: AttentionOp[];
}

/** T5's spec; `tied` overrides the config's guess once the checkpoint is known (see `t5Tied`). */
export function buildT5(raw: unknown, source: string, tied?: boolean): ModelSpec {
  const c = parseConfig(T5Config, raw, source);
  const { gated, fn } = t5FeedForward(c, source);
  const b = new SpecBuilder('t5', true);
  const d = c.d_model;
  const x: StackContext = {
    b,
    d,
    heads: c.num_heads,
    dKv: c.d_kv,
    dFf: c.d_ff,
    gated,
    fn,
    loraTargets: [],
    prefixTargets: [],
  };
  const decoderLayers = c.num_decoder_layers ?? c.num_layers;
  const buckets = [c.relative_attention_num_buckets, c.num_heads];

  const shared = 'shared.weight';
  const decoderEmbedding = b.embedding(
    'decoder.embed_tokens',
    'decoder',
    c.vocab_size,
    d,
    'embeddings',
    shared,
  );
  const lmHead = outputHead(b, decoderEmbedding, c.vocab_size, d, tied ?? t5Tied(c));
  const decNorm = b.norm('decoder.final_layer_norm', 'decoder', 'rmsnorm', d, 'final');
  b.through(decNorm);

  const decBias = b.tensor(
    'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
    buckets,
    'embedding.weight',
    'decoder.0',
  );
  const crossKv: LinearOp[] = [];
  for (let i = decoderLayers - 1; i >= 0; i--) {
    const p = `decoder.block.${i}`;
    ffLayer(x, 'decoder', `${p}.layer.2`, `decoder.${i}`);
    crossKv.push(...attentionLayer(x, 'decoder', `${p}.layer.1`, `decoder.${i}`, 'EncDecAttention'));
    attentionLayer(x, 'decoder', `${p}.layer.0`, `decoder.${i}`, 'SelfAttention', decBias);
  }
  b.dw(decoderEmbedding);

  for (const proj of crossKv) b.dx(proj);
  b.fork('encoder.output', 'encoder', d, crossKv.length);
  const encNorm = b.norm('encoder.final_layer_norm', 'encoder', 'rmsnorm', d, 'encoder.final');
  b.through(encNorm);
  const encBias = b.tensor(
    'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
    buckets,
    'embedding.weight',
    'encoder.0',
  );
  for (let i = c.num_layers - 1; i >= 0; i--) {
    const p = `encoder.block.${i}`;
    ffLayer(x, 'encoder', `${p}.layer.1`, `encoder.${i}`);
    attentionLayer(x, 'encoder', `${p}.layer.0`, `encoder.${i}`, 'SelfAttention', encBias);
  }
  b.dw(b.embedding('encoder.embed_tokens', 'encoder', c.vocab_size, d, 'embeddings', shared));

  return b.build({
    outputEmbedding: lmHead.weight,
    topLayer: [decNorm.weight],
    loraTargets: x.loraTargets,
    prefixTargets: x.prefixTargets,
  });
}

function ffLayer(x: StackContext, stream: Stream, p: string, layer: string): void {
  const { b, d } = x;
  preNormResidual(b, b.norm(`${p}.layer_norm`, stream, 'rmsnorm', d, layer), p, () =>
    mlpSublayer(b, {
      stream,
      layer,
      dim: d,
      ffnDim: x.dFf,
      fn: x.fn,
      bias: false,
      layout: 'out_in',
      up: x.gated ? `${p}.DenseReluDense.wi_1` : `${p}.DenseReluDense.wi`,
      down: `${p}.DenseReluDense.wo`,
      act: `${p}.DenseReluDense.act`,
      ...(x.gated ? { gate: `${p}.DenseReluDense.wi_0` } : {}),
    }),
  );
}

/** One attention layer; returns the cross-attention K/V projections whose dx the encoder owns. */
function attentionLayer(
  x: StackContext,
  stream: Stream,
  p: string,
  layer: string,
  kind: 'SelfAttention' | 'EncDecAttention',
  relativeBias?: string,
): readonly LinearOp[] {
  const { b, d } = x;
  const m = `${p}.${kind}`;
  let deferred: readonly LinearOp[] = [];
  preNormResidual(b, b.norm(`${p}.layer_norm`, stream, 'rmsnorm', d, layer), p, () => {
    const t = attentionSublayer(b, {
      stream,
      layer,
      dim: d,
      bias: false,
      layout: 'out_in',
      projections: { type: 'split', q: `${m}.q`, k: `${m}.k`, v: `${m}.v` },
      out: `${m}.o`,
      core: m,
      attention: {
        heads: x.heads,
        kvHeads: x.heads,
        headDim: x.dKv,
        scaled: false,
        masked: true,
        rotary: false,
        ...(relativeBias ? { positionBias: { type: 'relative' as const, weight: relativeBias } } : {}),
      },
      ...(kind === 'EncDecAttention' ? { keyValueInput: { stream: 'encoder' as const, dim: d } } : {}),
    });
    x.loraTargets.push(...t.loraTargets);
    if (stream === 'decoder' && kind === 'SelfAttention') x.prefixTargets.push(t.core);
    deferred = t.deferredDx;
  });
  return deferred;
}
