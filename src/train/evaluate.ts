/**
 * Evaluation of a language model on a split: loss and perplexity over the target tokens (teacher
 * forcing), texts generated with beam search (summaries, answers), and the log-likelihood of
 * candidate answers (multiple choice).
 */
import * as tf from '@tensorflow/tfjs-core';
import { generate } from '../models/generate.js';
import type { TextTokenizer } from '../models/tokenizer.js';
import type { EncodeOptions, Example } from './data.js';
import { batchTensors, encodeFor, type LanguageModel, lmLoss, promptOf, type Sequence } from './lm-batch.js';
import type { Prefix } from './prefix.js';

/** Mean target-token loss over `sequences`, in batches, without a gradient tape. */
export function meanLoss(
  model: LanguageModel,
  sequences: readonly Sequence[],
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
  model: LanguageModel,
  chunk: readonly Sequence[],
  padId: number,
  prefix?: Prefix,
): { sum: number; tokens: number } {
  const n = chunk.reduce((a, s) => a + s.labels.filter((l) => l !== -100).length, 0);
  const loss = tf.tidy(() => {
    const b = batchTensors(model, chunk, padId);
    return prefix ? prefix.loss(b) : lmLoss(model, b);
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

/** The text the model writes for each example's prompt (a summary, an answer), by beam search. */
export function summarise(
  model: LanguageModel,
  tok: TextTokenizer,
  examples: readonly Example[],
  o: GenerationOptions,
  onProgress?: (done: number) => void,
): string[] {
  return examples.map((e, i) => {
    const prompt = promptOf(model, encodeFor(model, e, tok, o));
    const out = generate(model, prompt, {
      maxNewTokens: o.maxNewTokens,
      numBeams: o.beams,
      eosTokenIds: [o.eosId],
      ...(o.prefix ? { prefix: o.prefix.layers() } : {}),
    });
    // A decoder-only model returns the prompt too; an encoder-decoder one its start token.
    const generated = out.slice(model.spec.encoderDecoder ? 1 : prompt.length).filter((id) => id !== o.eosId);
    onProgress?.(i + 1);
    return tok.decode(generated).trim();
  });
}

/** Summed log-probability of a sequence's labels ≠ −100 given what precedes them. */
export function logLikelihood(model: LanguageModel, s: Sequence, padId: number, prefix?: Prefix): number {
  return -batchLoss(model, [s], padId, prefix).sum;
}

/**
 * The log-likelihood of each of an example's candidate answers as the target of its prompt (the
 * answer's tokens without the EOS that training appends), as lm-evaluation-harness scores PIQA.
 */
export function choiceScores(
  model: LanguageModel,
  tok: TextTokenizer,
  e: Example,
  o: EncodeOptions,
  prefix?: Prefix,
): number[] {
  const pad = tok.padId ?? o.eosId;
  return (e.choices ?? []).map((choice) => {
    const s = encodeFor(model, { source: e.source, target: choice }, tok, o);
    const labels = [...s.labels];
    labels[labels.length - 1] = -100; // the EOS
    return logLikelihood(model, { ids: s.ids, labels }, pad, prefix);
  });
}
