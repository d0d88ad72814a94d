/**
 * Prefix tuning (Li & Liang 2021), the paper's baseline: `length` trained key and value vectors
 * per attention layer, prepended to every sequence's keys and values — passed to the model as
 * the K/V cache of `length` earlier positions, so the model code is untouched. The base weights
 * stay frozen. Variables are `prefix.<layer>.k` and `.v`, [H_kv, p, hd], N(0, 0.02), and live in
 * the model's Parameters so the trainer, AdamW and checkpoints treat them like any tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from '../models/attention.js';
import type { CausalLM } from '../models/causal-lm.js';
import { causalLmLoss } from '../models/loss.js';

export class Prefix {
  readonly names: string[] = [];

  constructor(
    private readonly model: CausalLM,
    readonly length: number,
    seed = 0,
  ) {
    // prefixTargets run from the output down; layer i is the (L−1−i)-th.
    const layers = [...model.spec.prefixTargets].reverse();
    layers.forEach((op, i) => {
      for (const part of ['k', 'v'] as const) {
        const name = `prefix.${i}.${part}`;
        model.params.addTrainable(name, () =>
          tf.randomNormal(
            [op.kvHeads, length, op.headDim],
            0,
            0.02,
            'float32',
            seed * 131 + 2 * i + (part === 'v' ? 1 : 0),
          ),
        );
        this.names.push(name);
      }
    });
  }

  /** The prefix as one layer cache per layer, [H_kv, p, hd] (batch 1). */
  layers(): LayerCache[] {
    const p = this.model.params;
    return Array.from({ length: this.names.length / 2 }, (_, i) => ({
      k: p.get(`prefix.${i}.k`) as tf.Tensor3D,
      v: p.get(`prefix.${i}.v`) as tf.Tensor3D,
    }));
  }

  /** Next-token loss with the prefix in front of every sequence. */
  loss(ids: tf.Tensor2D, mask: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
    const batch = ids.shape[0];
    const cache = this.layers().map((c) => ({
      k: tf.tile(c.k, [batch, 1, 1]),
      v: tf.tile(c.v, [batch, 1, 1]),
    }));
    const full = tf.concat([tf.ones([batch, this.length]), mask], 1) as tf.Tensor2D;
    return causalLmLoss(this.model.forward({ ids, mask: full, cache }).logits, labels);
  }
}
