/**
 * The causal language-modelling loss of Hugging Face's `*ForCausalLM`: position t predicts label
 * t + 1; labels of −100 are ignored; the mean is over the labels that count.
 */
import * as tf from '@tensorflow/tfjs-core';

export const IGNORE_INDEX = -100;

/** Mean cross-entropy of logits [B, T, V] against labels [B, T] (int32, −100 = ignore). */
export function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [batch, t, vocab] = logits.shape;
    const rows = batch * (t - 1);
    const shifted = tf.reshape(tf.slice(logits, [0, 0, 0], [batch, t - 1, vocab]), [rows, vocab]); // [B·(T−1), V]
    const targets = tf.reshape(tf.slice(labels, [0, 1], [batch, t - 1]), [rows]);
    const valid = tf.notEqual(targets, IGNORE_INDEX);
    const counts = tf.cast(valid, 'float32');
    const safe = tf.where(valid, tf.cast(targets, 'int32'), tf.zeros(targets.shape, 'int32'));
    // Flat index row·V + label (int32: B·T·V exceeds float32's exact integers) picks each row's target.
    const index = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), safe);
    const picked = tf.gather(tf.reshape(tf.logSoftmax(shifted), [-1]), index);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, counts))), tf.maximum(tf.sum(counts), 1)) as tf.Scalar;
  });
}
