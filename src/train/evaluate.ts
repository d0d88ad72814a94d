/**
 * Evaluation of a causal LM on a summarisation split: validation loss and perplexity over the
 * target tokens (teacher forcing), and summaries generated with beam search for ROUGE.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../models/causal-lm.js';
import { generate } from '../models/generate.js';
import type { TextTokenizer } from '../models/tokenizer.js';
import { type CausalSequence, type EncodeOptions, type Example, encodeCausal, padBatch } from './data.js';
import type { Prefix } from './prefix.js';

/** Mean target-token loss over `sequences`, in batches, without a gradient tape. */
export function meanLoss(
  model: CausalLM,
  sequences: readonly CausalSequence[],
  padId: number,
  batchSize: number,
  prefix?: Prefix,
): number {
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < sequences.length; i += batchSize) {
    const b = batchLoss(model, sequences.slice(i, i + batchSize), padId, prefix);
    sum += b.sum;
    tokens += b.tokens;
  }
  return tokens > 0 ? sum / tokens : Number.NaN;
}

/** Summed target-token loss of one batch and its target-token count (callers combine batches). */
export function batchLoss(
  model: CausalLM,
  chunk: readonly CausalSequence[],
  padId: number,
  prefix?: Prefix,
): { sum: number; tokens: number } {
  const n = chunk.reduce((a, s) => a + s.labels.filter((l) => l !== -100).length, 0);
  const b = padBatch(chunk, padId);
  const loss = tf.tidy(() => {
    const ids = tf.tensor2d(b.ids, undefined, 'int32');
    const mask = tf.tensor2d(b.mask, undefined, 'float32');
    const labels = tf.tensor2d(b.labels, undefined, 'int32');
    return prefix ? prefix.loss(ids, mask, labels) : model.loss(ids, mask, labels);
  });
  const sum = loss.dataSync()[0]! * n;
  loss.dispose();
  return { sum, tokens: n };
}

export interface GenerationOptions extends EncodeOptions {
  readonly beams: number;
  readonly maxNewTokens: number;
  readonly prefix?: Prefix;
}

/** The summary the model writes for each example's prompt (its source with the paper's prompt). */
export function summarise(
  model: CausalLM,
  tok: TextTokenizer,
  examples: readonly Example[],
  o: GenerationOptions,
  onProgress?: (done: number) => void,
): string[] {
  return examples.map((e, i) => {
    const full = encodeCausal(e, tok, o);
    const prompt = full.ids.slice(
      0,
      full.labels.findIndex((l) => l !== -100),
    );
    const out = generate(model, prompt, {
      maxNewTokens: o.maxNewTokens,
      numBeams: o.beams,
      eosTokenIds: [o.eosId],
      ...(o.prefix ? { prefix: o.prefix.layers() } : {}),
    });
    const generated = out.slice(prompt.length).filter((id) => id !== o.eosId);
    onProgress?.(i + 1);
    return tok.decode(generated).trim();
  });
}
