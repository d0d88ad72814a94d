/**
 * T5 / FLAN-T5 in TensorFlow.js, computing what Hugging Face's `T5ForConditionalGeneration`
 * computes: RMS-style norms without mean or bias, unscaled attention, learned relative position
 * buckets in block 0 of each stack (reused by every block), gated or plain FFN, a shared
 * embedding, and an output projection tied to it or not, with the decoder output scaled by d^−½
 * when the config says so (`t5Scaled`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type T5Config, t5FeedForward, t5Scaled } from '../greentrainer/architectures/t5.js';
import { attention, causalBias, type LayerCache, MASKED } from './attention.js';
import { embed, project } from './decoder.js';
import { activate, add, dense as denseOf, rmsNorm } from './layers.js';
import type { Parameters } from './parameters.js';

export interface Seq2SeqInputs {
  /** Encoder input ids [B, Te] (int32) and their mask [B, Te]. */
  readonly ids: tf.Tensor2D;
  readonly mask: tf.Tensor2D;
  /** Decoder input ids [B, Td]: the new positions. */
  readonly decoderIds: tf.Tensor2D;
  /** The encoder's output [B·Te, d], when already computed (generation). */
  readonly encoded?: tf.Tensor2D;
  /** Decoder self-attention keys and values of earlier positions, per layer. */
  readonly cache?: readonly LayerCache[];
}

export interface Seq2SeqOutput {
  readonly logits: tf.Tensor3D;
  readonly encoded: tf.Tensor2D;
  readonly cache: readonly LayerCache[];
}

/** `tiedTo`: the embedding lm_head shares (`shared.weight`), when it is tied. */
export function t5Forward(p: Parameters, c: T5Config, x: Seq2SeqInputs, tiedTo?: string): Seq2SeqOutput {
  const [batch, te] = x.ids.shape;
  const td = x.decoderIds.shape[1];
  const past = x.cache?.[0]?.k.shape[1] ?? 0;
  const { gated, fn } = t5FeedForward(c, 'config');
  const heads = c.num_heads;
  const norm = (h: tf.Tensor2D, name: string) => rmsNorm(h, p.get(`${name}.weight`), c.layer_norm_epsilon);
  const dense = (h: tf.Tensor2D, name: string) => denseOf(p, h, `${name}.weight`);
  const feedForward = (h: tf.Tensor2D, l: string) => {
    const a = norm(h, `${l}.layer_norm`);
    const f = `${l}.DenseReluDense`;
    const inner = gated
      ? tf.mul(activate(fn, dense(a, `${f}.wi_0`)), dense(a, `${f}.wi_1`))
      : activate(fn, dense(a, `${f}.wi`));
    return add(h, dense(inner as tf.Tensor2D, `${f}.wo`));
  };
  const attend = (q: tf.Tensor2D, kv: tf.Tensor2D, m: string, bias: tf.Tensor4D, pastKv?: LayerCache) =>
    attention({
      q: dense(q, `${m}.q`),
      k: dense(kv, `${m}.k`),
      v: dense(kv, `${m}.v`),
      batch,
      heads,
      kvHeads: heads,
      scale: 1,
      bias,
      ...(pastKv ? { past: pastKv } : {}),
    });
  // Padding mask over encoder positions, for encoder self-attention and cross-attention: [B, 1, 1, Te].
  const padding = tf.reshape(tf.mul(tf.sub(1, x.mask), MASKED), [batch, 1, 1, te]) as tf.Tensor4D;

  let encoded = x.encoded;
  if (!encoded) {
    const bias = add(positionBias(p, c, 'encoder', te, te, 0), padding);
    let h = embed(p.get('shared.weight'), x.ids);
    for (let i = 0; i < c.num_layers; i++) {
      const l = `encoder.block.${i}.layer`;
      const a = norm(h, `${l}.0.layer_norm`);
      h = add(h, dense(attend(a, a, `${l}.0.SelfAttention`, bias).out, `${l}.0.SelfAttention.o`));
      h = feedForward(h, `${l}.1`);
    }
    encoded = norm(h, 'encoder.final_layer_norm');
  }

  const ones = tf.ones([batch, past + td]) as tf.Tensor2D;
  const selfBias = add(positionBias(p, c, 'decoder', td, past + td, past), causalBias(ones, td));
  let h = embed(p.get('shared.weight'), x.decoderIds);
  const cache: LayerCache[] = [];
  for (let i = 0; i < (c.num_decoder_layers ?? c.num_layers); i++) {
    const l = `decoder.block.${i}.layer`;
    const a = norm(h, `${l}.0.layer_norm`);
    const self = attend(a, a, `${l}.0.SelfAttention`, selfBias, x.cache?.[i]);
    cache.push(self.cache);
    h = add(h, dense(self.out, `${l}.0.SelfAttention.o`));
    h = add(
      h,
      dense(
        attend(norm(h, `${l}.1.layer_norm`), encoded, `${l}.1.EncDecAttention`, padding).out,
        `${l}.1.EncDecAttention.o`,
      ),
    );
    h = feedForward(h, `${l}.2`);
  }
  h = norm(h, 'decoder.final_layer_norm');
  if (t5Scaled(c)) h = tf.mul(h, c.d_model ** -0.5);
  return { logits: project(p, h, batch, tiedTo), encoded, cache };
}

/**
 * Learned relative position bias [1, H, Tq, Tk] of a stack (block 0's table), for queries at
 * absolute positions past…past+Tq−1 and keys 0…Tk−1.
 */
function positionBias(
  p: Parameters,
  c: T5Config,
  stack: 'encoder' | 'decoder',
  tq: number,
  tk: number,
  past: number,
): tf.Tensor4D {
  const buckets = Array.from({ length: tq * tk }, (_, i) =>
    relativeBucket(
      (i % tk) - (past + Math.floor(i / tk)),
      stack === 'encoder',
      c.relative_attention_num_buckets,
      c.relative_attention_max_distance,
    ),
  );
  const table = p.get(`${stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`); // [buckets, H]
  const values = tf.gather(table, tf.tensor1d(buckets, 'int32')); // [Tq·Tk, H]
  return tf.reshape(tf.transpose(tf.reshape(values, [tq, tk, c.num_heads]), [2, 0, 1]), [
    1,
    c.num_heads,
    tq,
    tk,
  ]);
}

/** Hugging Face's `_relative_position_bucket` for relative position key − query. */
export function relativeBucket(
  relative: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let buckets = numBuckets;
  let offset = 0;
  let n: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) offset = buckets;
    n = Math.abs(relative);
  } else {
    n = Math.max(-relative, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return offset + n;
  // Computed in float32 by torch; identical to float64 at these magnitudes.
  const large =
    maxExact + Math.trunc((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (buckets - maxExact));
  return offset + Math.min(large, buckets - 1);
}
