/**
 * Prefix tuning (Li & Liang 2021), the paper's baseline: `length` trained key and value vectors
 * per attention layer, prepended to every sequence's keys and values — passed to the model as
 * the K/V cache of `length` earlier positions, so the model code is untouched. The base weights
 * stay frozen. In an encoder-decoder model only the decoder's self-attention gets a prefix, as the
 * paper does (its `prefixTargets`). Variables are `prefix.<layer>.k` and `.v`, [H_kv, p, hd], N(0, 0.02), and live in
 * the model's Parameters so the trainer, AdamW and checkpoints treat them like any tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from '../models/attention.js';
import { causalLmLoss, tokenCrossEntropy } from '../models/loss.js';
import { Seq2SeqLM } from '../models/seq2seq-lm.js';
import type { BatchTensors, LanguageModel } from './lm-batch.js';

export class Prefix {
  readonly names: string[] = [];

  constructor(
    private readonly model: LanguageModel,
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

  /** The model's loss with the prefix in front of every (decoder) sequence. */
  loss(b: BatchTensors): tf.Scalar {
    const batch = b.ids.shape[0];
    const cache = this.layers().map((c) => ({
      k: tf.tile(c.k, [batch, 1, 1]),
      v: tf.tile(c.v, [batch, 1, 1]),
    }));
    if (this.model instanceof Seq2SeqLM) {
      if (!b.decoderIds) throw new Error('a seq2seq batch needs decoder ids');
      const { logits } = this.model.forward({ ids: b.ids, mask: b.mask, decoderIds: b.decoderIds, cache });
      return tokenCrossEntropy(logits, b.labels);
    }
    const full = tf.concat([tf.ones([batch, this.length]), b.mask], 1) as tf.Tensor2D;
    return causalLmLoss(this.model.forward({ ids: b.ids, mask: full, cache }).logits, b.labels);
  }
}
