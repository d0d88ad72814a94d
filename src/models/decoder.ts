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
  /**
   * Training only: the first this many blocks hold no tensor being trained, so they run outside
   * the gradient tape (see `decoderLayers`). No cache is returned then.
   */
  readonly frozenLayers?: number;
}

export interface DecoderOutput {
  /** [B, T, V]. */
  readonly logits: tf.Tensor3D;
  /** One entry per layer; empty when `frozenLayers` was set. */
  readonly cache: readonly LayerCache[];
}

/**
 * Runs `count` decoder blocks over `h`. The first `x.frozenLayers` run outside the gradient tape:
 * nothing they compute is recorded, so their activations are freed as each block returns instead
 * of being kept for a backward pass that will never reach them (the trainer freezes only blocks
 * below the deepest tensor it trains; were a trained tensor inside one, `tf.variableGrads` would
 * fail rather than return a wrong gradient).
 */
export function decoderLayers(
  h: tf.Tensor2D,
  x: DecoderInputs,
  count: number,
  block: (h: tf.Tensor2D, layer: number) => tf.Tensor2D,
): tf.Tensor2D {
  const frozen = x.frozenLayers ?? 0;
  if (frozen > 0 && x.cache) throw new Error('frozen layers are for training: they take no cache');
  let out = h;
  for (let i = 0; i < count; i++) {
    const input = out;
    out = i < frozen ? untaped(() => block(input, i)) : block(input, i);
  }
  return out;
}

/**
 * `f()` as a constant of the gradient tape. A custom-gradient op with no inputs runs its forward
 * function with the tape off and connects to no variable, so backpropagation prunes it whole. Its
 * profile entry is a scope: the kernels inside it are listed, and audited, on their own.
 */
export function untaped<T extends tf.Tensor>(f: () => T): T {
  return tf.tidy(UNTAPED_SCOPE, () => tf.customGrad(() => ({ value: f(), gradFunc: () => [] }))() as T);
}

/** The profile entry of an `untaped` computation: named as tfjs names its ops' scopes (`<op>__op`). */
const UNTAPED_SCOPE = 'untaped__op';

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
