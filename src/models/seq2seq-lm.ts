/**
 * An encoder-decoder language model (T5 / FLAN-T5): like `CausalLM`, its tensors are exactly the
 * FLOPs model's for the same config; its loss predicts label t at decoder position t.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { parseConfig } from '../greentrainer/architectures/hf-config.js';
import { buildT5, T5Config } from '../greentrainer/architectures/t5.js';
import { tensorOrder } from '../greentrainer/flops.js';
import type { ModelSpec, TensorSpec } from '../greentrainer/graph.js';
import { tokenCrossEntropy } from './loss.js';
import { Parameters } from './parameters.js';
import { type Seq2SeqInputs, type Seq2SeqOutput, t5Forward } from './t5.js';

/** `tied`: whether lm_head shares `shared.weight` (the checkpoint decides; default: the config's guess). */
export function describeSeq2SeqLM(config: unknown, source: string, tied?: boolean) {
  const c = parseConfig(T5Config, config, source);
  const spec = buildT5(config, source, tied);
  return { spec, config: c, tensors: tensorOrder(spec) as TensorSpec[] };
}

export class Seq2SeqLM {
  private constructor(
    readonly spec: ModelSpec,
    private readonly config: T5Config,
    readonly params: Parameters,
  ) {}

  static random(config: unknown, source: string, seed = 0, tied?: boolean): Seq2SeqLM {
    const d = describeSeq2SeqLM(config, source, tied);
    return new Seq2SeqLM(d.spec, d.config, Parameters.random(d.tensors, seed));
  }

  static fromValues(
    config: unknown,
    source: string,
    values: ReadonlyMap<string, Float32Array>,
    tied?: boolean,
  ): Seq2SeqLM {
    const d = describeSeq2SeqLM(config, source, tied);
    return new Seq2SeqLM(d.spec, d.config, Parameters.fromCheckpoint(d.tensors, values));
  }

  /** The token every decoder sequence starts with. */
  get decoderStartId(): number {
    return this.config.decoder_start_token_id;
  }

  forward(x: Seq2SeqInputs): Seq2SeqOutput {
    const head = this.spec.outputEmbedding;
    return t5Forward(this.params, this.config, x, head === 'lm_head.weight' ? undefined : head);
  }

  /** Mean cross-entropy of the decoder's predictions against labels ≠ −100. */
  loss(ids: tf.Tensor2D, mask: tf.Tensor2D, decoderIds: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
    return tokenCrossEntropy(this.forward({ ids, mask, decoderIds }).logits, labels);
  }

  dispose(): void {
    this.params.dispose();
  }
}
