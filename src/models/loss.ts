/**
 * Language-modelling losses as Hugging Face computes them: token cross-entropy averaged over the
 * labels that count (−100 is ignored). A causal LM predicts label t + 1 at position t; a
 * sequence-to-sequence model predicts label t at decoder position t.
 */
import * as tf from '@tensorflow/tfjs-core';

export const IGNORE_INDEX = -100;

/** Mean cross-entropy of logits [B, T, V] against targets [B, T] (int32, −100 = ignore). */
export function tokenCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [batch, t, vocab] = logits.shape;
    const rows = batch * t;
    const flat = tf.reshape(targets, [rows]);
    const valid = tf.notEqual(flat, IGNORE_INDEX);
    const counts = tf.cast(valid, 'float32');
    const safe = tf.where(valid, tf.cast(flat, 'int32'), tf.zeros([rows], 'int32'));
    // Flat index row·V + label (int32: B·T·V exceeds float32's exact integers) picks each row's target.
    const index = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), safe);
    const picked = tf.gather(tf.reshape(tf.logSoftmax(tf.reshape(logits, [rows, vocab])), [-1]), index);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, counts))), tf.maximum(tf.sum(counts), 1)) as tf.Scalar;
  });
}

/** Causal LM loss: position t predicts label t + 1. */
export function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [batch, t, vocab] = logits.shape;
    const shifted = tf.slice(logits, [0, 0, 0], [batch, t - 1, vocab]); // [B, T−1, V]
    return tokenCrossEntropy(shifted, tf.slice(labels, [0, 1], [batch, t - 1]));
  });
}

/** What a training loss is told about the backward pass it is computed for. */
export interface LossPass {
  /** Decoder blocks, from the input, that hold no tensor being differentiated (0: none). */
  readonly frozenLayers?: number;
}
