/**
 * The building blocks the model files share. Activations flow as 2-D [rows, features] tensors:
 * on wasm only an un-transposed 2-D matMul reaches XNNPACK.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '../greentrainer/graph.js';
import type { Parameters } from './parameters.js';

/** x·W (+ b) with W in [in, out] layout. x: [N, in] → [N, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D) as tf.Tensor2D;
  return b ? add(y, b) : y;
}

/**
 * A linear layer by weight name: x·W (+ b), plus the LoRA path (x·A)·B·(α/r) when the weight has
 * an adapter (Hu et al. 2021), computed as two thin products as the FLOPs model counts it.
 */
export function dense(p: Parameters, x: tf.Tensor2D, weight: string, bias?: string): tf.Tensor2D {
  const y = linear(x, p.get(weight), bias ? p.get(bias) : undefined);
  const a = p.adapter(weight);
  if (!a) return y;
  return tf.add(y, tf.mul(tf.matMul(tf.matMul(x, a.a), a.b), a.scale)) as tf.Tensor2D;
}

/** Element-wise sum that keeps the first operand's rank in the type. */
export function add<T extends tf.Tensor>(a: T, b: tf.Tensor | number): T {
  return tf.add(a, b) as T;
}

/** LayerNorm over the last axis, with the biased variance as torch computes it. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, gamma), beta);
}

/** RMSNorm (Llama, T5): x / sqrt(mean(x²) + eps) · γ. */
export function rmsNorm(x: tf.Tensor2D, gamma: tf.Tensor, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.mul(x, x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), gamma);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Element-wise activations, with the formulas of Hugging Face's ACT2FN. */
export function activate<T extends tf.Tensor>(fn: Activation, x: T): T {
  return activation(fn, x) as T;
}

function activation(fn: Activation, x: tf.Tensor): tf.Tensor {
  switch (fn) {
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'gelu_tanh': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); x·x·x, since pow is 10× slower on wasm.
      const cube = tf.mul(tf.mul(x, x), x);
      const inner = tf.mul(tf.add(x, tf.mul(cube, 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
    }
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
  }
}

/** [B·T, H·hd] → [B·H, T, hd]. */
export function splitHeads(x: tf.Tensor2D, batch: number, heads: number): tf.Tensor3D {
  const [rows, width] = x.shape;
  const t = rows / batch;
  const hd = width / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, t, heads, hd]), [0, 2, 1, 3]), [batch * heads, t, hd]); // [B·H, T, hd]
}

/** [B·H, T, hd] → [B·T, H·hd]. */
export function mergeHeads(x: tf.Tensor3D, batch: number): tf.Tensor2D {
  const [bh, t, hd] = x.shape;
  const heads = bh / batch;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, heads, t, hd]), [0, 2, 1, 3]), [
    batch * t,
    heads * hd,
  ]); // [B·T, H·hd]
}
