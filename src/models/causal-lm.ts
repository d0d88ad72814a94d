/**
 * A decoder-only language model: its Hugging Face config, its tensor-level description (the same
 * one the FLOPs model uses, so the trainable tensors are named, ordered and shaped identically),
 * its weights, and its family's forward pass.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { parseBloom } from '../greentrainer/architectures/bloom.js';
import { Gpt2Config } from '../greentrainer/architectures/gpt2.js';
import { parseConfig } from '../greentrainer/architectures/hf-config.js';
import { buildArchitecture } from '../greentrainer/architectures/index.js';
import { type LlamaFamily, parseLlamaConfig } from '../greentrainer/architectures/llama.js';
import { OptConfig } from '../greentrainer/architectures/opt.js';
import { ModelConfigError } from '../greentrainer/errors.js';
import { tensorOrder } from '../greentrainer/flops.js';
import type { ModelSpec, TensorSpec } from '../greentrainer/graph.js';
import { bloomForward } from './bloom.js';
import type { DecoderInputs, DecoderOutput } from './decoder.js';
import { gpt2Forward } from './gpt2.js';
import { llamaForward } from './llama.js';
import { causalLmLoss, type LossPass } from './loss.js';
import { optForward } from './opt.js';
import { Parameters } from './parameters.js';

type Forward = (p: Parameters, x: DecoderInputs) => DecoderOutput;

/** Families with a forward pass, keyed by `model_type`: each parses its config once. */
const FAMILIES: Readonly<Record<string, (raw: unknown, source: string) => Forward>> = {
  opt: (raw, source) => {
    const c = parseConfig(OptConfig, raw, source);
    return (p, x) => optForward(p, c, x);
  },
  gpt2: (raw, source) => {
    const c = parseConfig(Gpt2Config, raw, source);
    return (p, x) => gpt2Forward(p, c, x);
  },
  bloom: (raw, source) => {
    const c = parseBloom(raw, source);
    return (p, x) => bloomForward(p, c, x);
  },
  llama: llamaFamily('llama'),
  qwen2: llamaFamily('qwen2'),
  mistral: llamaFamily('mistral'),
};

function llamaFamily(family: LlamaFamily) {
  return (raw: unknown, source: string): Forward => {
    const c = parseLlamaConfig(family, raw, source);
    return (p, x) => llamaForward(p, c, x);
  };
}

export const causalLmTypes: readonly string[] = Object.keys(FAMILIES);

/** The spec, tensor list and forward pass of a config, before any weight exists. */
export function describeCausalLM(config: unknown, source: string) {
  const spec = buildArchitecture(config, source);
  const family = FAMILIES[spec.modelType];
  if (!family) {
    throw new ModelConfigError(source, [
      {
        path: 'model_type',
        message: spec.encoderDecoder
          ? `'${spec.modelType}' is an encoder-decoder model: load it as a Seq2SeqLM (loadModel)`
          : `'${spec.modelType}' has a FLOPs model but no TensorFlow.js implementation; implemented: ${causalLmTypes.join(', ')}`,
      },
    ]);
  }
  return { spec, tensors: tensorOrder(spec) as TensorSpec[], forward: family(config, source) };
}

export class CausalLM {
  private constructor(
    readonly spec: ModelSpec,
    readonly params: Parameters,
    private readonly run: Forward,
  ) {}

  /** A randomly initialised model (tests, benchmarks). */
  static random(config: unknown, source: string, seed = 0): CausalLM {
    const d = describeCausalLM(config, source);
    return new CausalLM(d.spec, Parameters.random(d.tensors, seed), d.forward);
  }

  /** A model from checkpoint values (checkpoint layout), already checked against the spec. */
  static fromValues(config: unknown, source: string, values: ReadonlyMap<string, Float32Array>): CausalLM {
    const d = describeCausalLM(config, source);
    return new CausalLM(d.spec, Parameters.fromCheckpoint(d.tensors, values), d.forward);
  }

  forward(x: DecoderInputs): DecoderOutput {
    return this.run(this.params, x);
  }

  /**
   * Mean next-token cross-entropy over labels ≠ −100; in training, `frozenLayers` blocks from the
   * input run outside the gradient tape (`decoderLayers`).
   */
  loss(ids: tf.Tensor2D, mask: tf.Tensor2D, labels: tf.Tensor2D, pass: LossPass = {}): tf.Scalar {
    const frozen = pass.frozenLayers ?? 0;
    return causalLmLoss(
      this.forward({ ids, mask, ...(frozen > 0 ? { frozenLayers: frozen } : {}) }).logits,
      labels,
    );
  }

  dispose(): void {
    this.params.dispose();
  }
}
