/**
 * A job's evaluation: validation loss and perplexity (teacher forcing, target tokens only), and
 * on the test split summaries by beam search scored with ROUGE as Google's `rouge-score`.
 *
 * It yields to the event loop between batches and between generated summaries, and returns
 * `undefined` as soon as `stopped()` holds there: a stop request (SIGTERM to the daemon, a lost
 * daemon) reaches the trainer's message handler and ends an evaluation within one batch.
 */
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../models/tokenizer.js';
import { type CausalSequence, encodeCausal } from './data.js';
import { batchLoss, summarise } from './evaluate.js';
import { encodeOptions, type Job } from './job.js';
import type { Prefix } from './prefix.js';
import { meanRouge } from './rouge.js';
import type { EvaluationReport } from './run-events.js';
import type { Splits } from './splits.js';

export async function evaluateModel(
  model: CausalLM,
  tok: TextTokenizer,
  job: Job,
  splits: Splits,
  validation: readonly CausalSequence[],
  prefix?: Prefix,
  stopped: () => boolean = () => false,
): Promise<EvaluationReport[] | undefined> {
  const reports: EvaluationReport[] = [];
  const pad = tok.padId ?? tok.eosId!;
  const enc = encodeOptions(job, tok.eosId!);
  const loss = (seqs: readonly CausalSequence[]) =>
    meanLossYielding(model, seqs, pad, job.train.batch_size, prefix, stopped);
  if (validation.length > 0) {
    const t0 = performance.now();
    const seqs = validation.slice(0, job.eval.validation_samples ?? validation.length);
    const l = await loss(seqs);
    if (l === undefined) return undefined;
    reports.push({
      split: 'validation',
      examples: seqs.length,
      loss: l,
      perplexity: Math.exp(l),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  if (splits.test.length > 0) {
    const t0 = performance.now();
    const examples = splits.test.slice(0, job.eval.samples ?? splits.test.length);
    const l = await loss(examples.map((e) => encodeCausal(e, tok, enc)));
    if (l === undefined) return undefined;
    const predictions: string[] = [];
    for (const e of examples) {
      await yieldToEvents();
      if (stopped()) return undefined;
      const options = { ...enc, beams: job.eval.beams, maxNewTokens: job.eval.max_new_tokens };
      predictions.push(...summarise(model, tok, [e], prefix ? { ...options, prefix } : options));
    }
    reports.push({
      split: 'test',
      examples: examples.length,
      loss: l,
      perplexity: Math.exp(l),
      rouge: meanRouge(
        predictions,
        examples.map((e) => e.target),
      ),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return reports;
}

/** `meanLoss` one batch at a time with a stop check between: undefined when stopped. */
async function meanLossYielding(
  model: CausalLM,
  sequences: readonly CausalSequence[],
  padId: number,
  batchSize: number,
  prefix: Prefix | undefined,
  stopped: () => boolean,
): Promise<number | undefined> {
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < sequences.length; i += batchSize) {
    await yieldToEvents();
    if (stopped()) return undefined;
    const b = batchLoss(model, sequences.slice(i, i + batchSize), padId, prefix);
    sum += b.sum;
    tokens += b.tokens;
  }
  return tokens > 0 ? sum / tokens : Number.NaN;
}

function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
