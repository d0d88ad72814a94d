/**
 * Rotary position embeddings as Hugging Face's `*RotaryEmbedding` modules compute them: inverse
 * frequencies per RoPE type (`modeling_rope_utils.py`), cos/sin of position·frequency duplicated
 * over both halves of a head, and the rotate-half rotation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rope } from '../greentrainer/architectures/rope.js';

/**
 * θ_i for i < hd/2, and the factor cos and sin are multiplied by. `length` is the number of
 * positions the forward pass sees (cached + new): dynamic NTK scaling depends on it. Cached keys
 * keep the rotation of the pass that made them, as in transformers' generate.
 */
export function inverseFrequencies(
  rope: Rope,
  hd: number,
  length: number,
): { inv: number[]; attentionScaling: number } {
  const exponents = Array.from({ length: hd / 2 }, (_, i) => (2 * i) / hd);
  const base = (theta: number) => exponents.map((e) => 1 / theta ** e);
  switch (rope.type) {
    case 'default':
      return { inv: base(rope.theta), attentionScaling: 1 };
    case 'linear':
      return { inv: base(rope.theta).map((f) => f / rope.factor), attentionScaling: 1 };
    case 'dynamic': {
      // HF grows the base once the sequence passes max_position_embeddings (dynamic_rope_update).
      const s = Math.max(length, rope.maxPositions);
      const theta =
        rope.theta * ((rope.factor * s) / rope.maxPositions - (rope.factor - 1)) ** (hd / (hd - 2));
      return { inv: base(theta), attentionScaling: 1 };
    }
    case 'llama3':
      return { inv: base(rope.theta).map((f) => llama3Frequency(f, rope)), attentionScaling: 1 };
    case 'yarn':
      return { inv: yarnFrequencies(rope, hd), attentionScaling: rope.attentionFactor };
  }
}

/** `_compute_llama3_parameters`: long wavelengths slowed by `factor`, short kept, a smooth ramp between. */
function llama3Frequency(f: number, r: Extract<Rope, { type: 'llama3' }>): number {
  const wavelength = (2 * Math.PI) / f;
  const lowWavelength = r.originalMaxPositions / r.lowFreqFactor;
  const highWavelength = r.originalMaxPositions / r.highFreqFactor;
  if (wavelength < highWavelength) return f;
  if (wavelength > lowWavelength) return f / r.factor;
  const smooth =
    (r.originalMaxPositions / wavelength - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
  return ((1 - smooth) * f) / r.factor + smooth * f;
}

/** `_compute_yarn_parameters`: interpolated below the correction range, extrapolated above it. */
function yarnFrequencies(r: Extract<Rope, { type: 'yarn' }>, hd: number): number[] {
  const correction = (rotations: number) =>
    (hd * Math.log(r.originalMaxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(r.theta));
  let low = correction(r.betaFast);
  let high = correction(r.betaSlow);
  if (r.truncate) [low, high] = [Math.floor(low), Math.ceil(high)];
  low = Math.max(low, 0);
  high = Math.min(high, hd - 1);
  if (low === high) high += 0.001; // as HF, against a zero-width ramp
  return Array.from({ length: hd / 2 }, (_, i) => {
    const pos = r.theta ** ((2 * i) / hd);
    const extrapolation = 1 - Math.min(Math.max((i - low) / (high - low), 0), 1);
    return (1 / (r.factor * pos)) * (1 - extrapolation) + (1 / pos) * extrapolation;
  });
}

/** cos and sin of position·θ_i (positions past … past+T−1), both halves, scaled: [1, T, 1, hd] each. */
export function rotaryTables(rope: Rope, past: number, t: number, hd: number) {
  const { inv, attentionScaling } = inverseFrequencies(rope, hd, past + t);
  const half = hd / 2;
  const angles = Array.from(
    { length: t * hd },
    (_, k) => (past + Math.floor(k / hd)) * inv[(k % hd) % half]!,
  );
  return {
    cos: tf.tensor4d(
      angles.map((a) => Math.cos(a) * attentionScaling),
      [1, t, 1, hd],
    ),
    sin: tf.tensor4d(
      angles.map((a) => Math.sin(a) * attentionScaling),
      [1, t, 1, hd],
    ),
  };
}

/** x·cos + rotate_half(x)·sin per head, rotate_half(x) = [−x₂, x₁]. [B·T, n·hd] → same. */
export function rotate(
  y: tf.Tensor2D,
  batch: number,
  t: number,
  n: number,
  hd: number,
  tables: { cos: tf.Tensor; sin: tf.Tensor },
): tf.Tensor2D {
  const x = tf.reshape(y, [batch, t, n, hd]); // [B, T, n, hd]
  const [x1, x2] = tf.split(x, 2, 3);
  const rotated = tf.concat([tf.neg(x2!), x1!], 3);
  return tf.reshape(tf.add(tf.mul(x, tables.cos), tf.mul(rotated, tables.sin)), [batch * t, n * hd]);
}
