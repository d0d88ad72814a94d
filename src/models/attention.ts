/**
 * Scaled dot-product attention with an additive bias (causal and padding mask, ALiBi), grouped
 * K/V heads and a K/V cache. On wasm every product is a 2-D matMul per (sequence, head): the wasm
 * backend runs batched matMuls in a scalar loop. Elsewhere one batched matMul does the work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mergeHeads, splitHeads } from './layers.js';

/** Keys and values of earlier positions, per layer: [B·H_kv, S, hd]. */
export interface LayerCache {
  readonly k: tf.Tensor3D;
  readonly v: tf.Tensor3D;
}

export interface AttentionArgs {
  /** [B·T, H·hd], [B·T, H_kv·hd], [B·T, H_kv·hd]. */
  readonly q: tf.Tensor2D;
  readonly k: tf.Tensor2D;
  readonly v: tf.Tensor2D;
  readonly batch: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly scale: number;
  /** Additive scores bias [B, 1 or H, T, S] (S = cached + new positions). */
  readonly bias: tf.Tensor4D;
  readonly past?: LayerCache;
}

export interface AttentionResult {
  /** [B·T, H·hd]. */
  readonly out: tf.Tensor2D;
  readonly cache: LayerCache;
}

export function attention(a: AttentionArgs): AttentionResult {
  const q = splitHeads(a.q, a.batch, a.heads); // [B·H, T, hd]
  let k = splitHeads(a.k, a.batch, a.kvHeads); // [B·Hkv, T, hd]
  let v = splitHeads(a.v, a.batch, a.kvHeads);
  if (a.past) {
    k = tf.concat([a.past.k, k], 1); // [B·Hkv, S, hd]
    v = tf.concat([a.past.v, v], 1);
  }
  const cache = { k, v };
  const kk = repeatKv(k, a.batch, a.kvHeads, a.heads); // [B·H, S, hd]
  const vv = repeatKv(v, a.batch, a.kvHeads, a.heads);
  const out = tf.getBackend() === 'wasm' ? perHead(q, kk, vv, a) : batched(q, kk, vv, a);
  return { out: mergeHeads(out, a.batch), cache };
}

/** Head h reads K/V head ⌊h / (H / H_kv)⌋, as Hugging Face's repeat_kv. */
function repeatKv(x: tf.Tensor3D, batch: number, kvHeads: number, heads: number): tf.Tensor3D {
  if (kvHeads === heads) return x;
  const [, s, hd] = x.shape;
  const group = heads / kvHeads;
  const index = tf.tensor1d(
    Array.from({ length: heads }, (_, h) => Math.floor(h / group)),
    'int32',
  );
  const grouped = tf.gather(tf.reshape(x, [batch, kvHeads, s, hd]), index, 1); // [B, H, S, hd]
  return tf.reshape(grouped, [batch * heads, s, hd]);
}

function batched(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, a: AttentionArgs): tf.Tensor3D {
  const [bh, t, hd] = q.shape;
  const s = k.shape[1];
  const scores = tf.mul(tf.matMul(q, k, false, true), a.scale); // [B·H, T, S]
  const biased = tf.add(tf.reshape(scores, [a.batch, a.heads, t, s]), a.bias); // [B, H, T, S]
  const p = tf.softmax(tf.reshape(biased, [bh, t, s]));
  return tf.reshape(tf.matMul(p, v), [bh, t, hd]);
}

function perHead(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, a: AttentionArgs): tf.Tensor3D {
  const [, biasHeads, t, s] = a.bias.shape;
  const qs = tf.unstack(q) as tf.Tensor2D[];
  const ks = tf.unstack(k) as tf.Tensor2D[];
  const vs = tf.unstack(v) as tf.Tensor2D[];
  const biases = tf.unstack(tf.reshape(a.bias, [a.batch * biasHeads, t, s])) as tf.Tensor2D[];
  const outs = qs.map((qi, i) => {
    const b = Math.floor(i / a.heads);
    const bias = biases[biasHeads === 1 ? b : i]!;
    const scores = tf.add(tf.mul(tf.matMul(qi, tf.transpose(ks[i]!)), a.scale), bias); // [T, S]
    return tf.matMul(tf.softmax(scores), vs[i]!); // [T, hd]
  });
  return tf.stack(outs) as tf.Tensor3D;
}

/** The most negative score a masked position gets (exp of it is exactly 0 in float32). */
export const MASKED = -1e9;

/**
 * Causal + padding bias [B, 1, T, S]: query t (absolute position i = S − T + t) may see key j when
 * j ≤ i, mask[b, j] = 1 and, with a sliding window W, j > i − W (Hugging Face's
 * `sliding_window_overlay`). `mask` [B, S] holds 1 for real tokens and 0 for padding.
 */
export function causalBias(mask: tf.Tensor2D, newTokens: number, window?: number | null): tf.Tensor4D {
  const [batch, s] = mask.shape;
  const past = s - newTokens;
  const sees = (i: number, j: number) => j <= i && (window == null || j > i - window);
  const causal = tf.tensor2d(
    Array.from({ length: newTokens * s }, (_, k) => (sees(past + Math.floor(k / s), k % s) ? 1 : 0)),
    [newTokens, s],
  );
  const allowed = tf.mul(tf.reshape(causal, [1, 1, newTokens, s]), tf.reshape(mask, [batch, 1, 1, s]));
  return tf.mul(tf.sub(1, allowed), MASKED) as tf.Tensor4D;
}
