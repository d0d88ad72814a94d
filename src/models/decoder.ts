/**
 * What every decoder-only model takes and returns, and the pieces of the forward pass the
 * families share: embedding lookup, the output projection and the K/V cache.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './attention.js';
import { linear } from './layers.js';
import type { Parameters } from './parameters.js';

export interface DecoderInputs {
  /** Token ids [B, T] (int32): the new positions. */
  readonly ids: tf.Tensor2D;
  /** 1 for real tokens, 0 for padding, over cached and new positions: [B, S]. */
  readonly mask: tf.Tensor2D;
  /** Keys and values of the S − T cached positions, one entry per layer. */
  readonly cache?: readonly LayerCache[];
}

export interface DecoderOutput {
  /** [B, T, V]. */
  readonly logits: tf.Tensor3D;
  readonly cache: readonly LayerCache[];
}

/** Rows of `table` for every id: [B·T, d]. */
export function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor2D {
  return tf.gather(table as tf.Tensor2D, tf.reshape(ids, [-1])) as tf.Tensor2D;
}

/**
 * Logits [B, T, V] from the final hidden states [B·T, d]: through `lm_head.weight` ([d, V] in
 * compute layout) or, tied, through the transposed input embedding ([V, d]).
 */
export function project(p: Parameters, h: tf.Tensor2D, batch: number, tiedTo?: string): tf.Tensor3D {
  const logits = tiedTo ? tf.matMul(h, tf.transpose(p.get(tiedTo))) : linear(h, p.get('lm_head.weight'));
  const [rows, vocab] = logits.shape;
  return tf.reshape(logits, [batch, rows! / batch, vocab!]); // [B, T, V]
}

/** Absolute positions S − T … S − 1 of the new tokens, for every row: [B·T]. */
export function arangePositions(batch: number, newTokens: number, total: number): tf.Tensor1D {
  const past = total - newTokens;
  return tf.tensor1d(
    Array.from({ length: batch * newTokens }, (_, i) => past + (i % newTokens)),
    'int32',
  );
}
