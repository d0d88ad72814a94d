/**
 * Tensor importance (paper §3.2, Eq. 10): I_k = −Σ Δw ⊙ ∂L/∂w over a tensor's values, averaged
 * over batches and scaled by max |I|. Δw is the update AdamW would apply to that batch's gradient
 * as it stands, from its current moments (no probing step, no weight copy: weights and optimizer
 * state are untouched). It is the next step's exact update only without gradient clipping and
 * accumulation: the step clips by the global norm of the tensors then selected and averages its
 * micro-batches, neither known before the selection.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamW } from './adamw.js';

/**
 * The importance metric: the paper's Δw·∂L/∂w (default), or, for its Table 4 ablation, the
 * magnitude of the update alone (Σ|Δw|) or of the gradient alone (Σ|∂L/∂w|).
 */
export type ImportanceMetric = 'delta_gradient' | 'delta' | 'gradient';

/**
 * Which AdamW state Δw is computed from (the ablation of issue 19): each tensor's current moments,
 * a tensor without any (never selected, or dropped on leaving the selection) getting its first-step
 * update Δw ≈ −lr·sign(g) (`current`; the job default is `keep`); the first-step update for every tensor, moments
 * or not, so every score has one scale (`fresh`); or, as `current`, but tensors that leave the
 * selection keep their frozen moments (the trainer's side of `keep`), so they are scored with them.
 */
export type ImportanceMoments = 'current' | 'fresh' | 'keep';

export interface ImportanceRequest {
  readonly metric?: ImportanceMetric;
  /** `fresh`: score every tensor with the first-step Δw, ignoring its moments (default: use them). */
  readonly moments?: ImportanceMoments;
  /** The tensors to score (those above the early-stop depth, Eq. 12), by name. */
  readonly tensors: ReadonlyMap<string, tf.Variable>;
  /** One loss per batch to average over. */
  readonly losses: ReadonlyArray<() => tf.Scalar>;
  readonly optimizer: AdamW;
  /** Learning rate the next step will use (from the schedule). */
  readonly lr: number;
}

/** Importance per tensor name, normalised so that the largest |I| is 1 (all 0 if every I is 0). */
export function tensorImportance(r: ImportanceRequest): Map<string, number> {
  const names = [...r.tensors.keys()];
  const vars = names.map((n) => r.tensors.get(n)!);
  const sums = new Float64Array(names.length);
  for (const loss of r.losses) {
    const { value, grads } = tf.variableGrads(loss, vars);
    const g = vars.map((w) => grads[w.name]!);
    // One score per tensor, read back with one sync rather than one per tensor.
    const scores = tf.tidy(() =>
      tf.stack(
        names.map((name, k) =>
          tf.tidy(() => {
            if (r.metric === 'gradient') return tf.sum(tf.abs(g[k]!));
            const delta = r.optimizer.delta(name, vars[k]!, g[k]!, r.lr, r.moments === 'fresh');
            return r.metric === 'delta' ? tf.sum(tf.abs(delta)) : tf.neg(tf.sum(tf.mul(delta, g[k]!)));
          }),
        ),
      ),
    );
    scores.dataSync().forEach((score, k) => {
      sums[k]! += score;
    });
    tf.dispose([scores, value, ...g]);
  }
  const mean = Array.from(sums, (s) => s / Math.max(1, r.losses.length));
  const scale = Math.max(...mean.map(Math.abs), 0);
  return new Map(names.map((n, k) => [n, scale > 0 ? mean[k]! / scale : 0]));
}
