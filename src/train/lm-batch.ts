/**
 * What training and evaluation need from either kind of language model: encoding an example with
 * the model's prompt layout, a padded batch as tensors, and its loss. A decoder-only model reads
 * prompt and target as one sequence and predicts label t + 1 at position t; an encoder-decoder
 * model encodes the prompt and predicts label t at decoder position t.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../models/causal-lm.js';
import type { LossPass } from '../models/loss.js';
import { Seq2SeqLM } from '../models/seq2seq-lm.js';
import {
  type CausalSequence,
  type EncodeOptions,
  type Encoder,
  type Example,
  encodeCausal,
  encodeSeq2Seq,
  padBatch,
  padSeq2SeqBatch,
  type Seq2SeqSequence,
} from './data.js';

export type LanguageModel = CausalLM | Seq2SeqLM;

/** A training sequence of either kind: `labels` are aligned with `ids` (causal) or the decoder's. */
export type Sequence = CausalSequence | Seq2SeqSequence;

/** One padded batch as tensors: int32 ids and labels, float mask; the decoder input for seq2seq. */
export interface BatchTensors {
  readonly ids: tf.Tensor2D;
  readonly mask: tf.Tensor2D;
  readonly labels: tf.Tensor2D;
  readonly decoderIds?: tf.Tensor2D;
}

export function encodeFor(model: LanguageModel, e: Example, tok: Encoder, o: EncodeOptions): Sequence {
  return model instanceof Seq2SeqLM ? encodeSeq2Seq(e, tok, o) : encodeCausal(e, tok, o);
}

/** The ids a model is given to generate the target from (the decoder-only prompt stops at the first label). */
export function promptOf(model: LanguageModel, s: Sequence): number[] {
  return model instanceof Seq2SeqLM
    ? s.ids
    : s.ids.slice(
        0,
        s.labels.findIndex((l) => l !== -100),
      );
}

/** Tokens one sequence feeds the model (encoder and decoder together for seq2seq). */
export function sequenceTokens(model: LanguageModel, s: Sequence): number {
  return model instanceof Seq2SeqLM ? s.ids.length + s.labels.length : s.ids.length;
}

/** The padded batch as tensors; the caller disposes them (`batchList`). */
export function batchTensors(model: LanguageModel, seqs: readonly Sequence[], padId: number): BatchTensors {
  const int = (x: number[][]) => tf.tensor2d(x, undefined, 'int32');
  if (model instanceof Seq2SeqLM) {
    const b = padSeq2SeqBatch(seqs, padId, model.decoderStartId);
    return {
      ids: int(b.ids),
      mask: tf.tensor2d(b.mask, undefined, 'float32'),
      labels: int(b.labels),
      decoderIds: int(b.decoderIds),
    };
  }
  const b = padBatch(seqs, padId);
  return { ids: int(b.ids), mask: tf.tensor2d(b.mask, undefined, 'float32'), labels: int(b.labels) };
}

export function batchList(b: BatchTensors): tf.Tensor[] {
  return [b.ids, b.mask, b.labels, ...(b.decoderIds ? [b.decoderIds] : [])];
}

/** Mean cross-entropy over the batch's labels ≠ −100. */
export function lmLoss(model: LanguageModel, b: BatchTensors, pass?: LossPass): tf.Scalar {
  if (model instanceof Seq2SeqLM) {
    if (!b.decoderIds) throw new Error('a seq2seq batch needs decoder ids');
    return model.loss(b.ids, b.mask, b.decoderIds, b.labels);
  }
  return model.loss(b.ids, b.mask, b.labels, pass);
}
