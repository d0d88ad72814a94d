/**
 * A job's evaluation: validation loss and perplexity (teacher forcing, target tokens only), and
 * on the test split summaries by beam search scored with ROUGE as Google's `rouge-score`.
 */
import type { CausalLM } from '../models/causal-lm.js';
import type { TextTokenizer } from '../models/tokenizer.js';
import { type CausalSequence, encodeCausal } from './data.js';
import { meanLoss, summarise } from './evaluate.js';
import { encodeOptions, type Job } from './job.js';
import type { Prefix } from './prefix.js';
import { meanRouge } from './rouge.js';
import type { EvaluationReport } from './run-events.js';
import type { Splits } from './splits.js';

export function evaluateModel(
  model: CausalLM,
  tok: TextTokenizer,
  job: Job,
  splits: Splits,
  validation: readonly CausalSequence[],
  prefix?: Prefix,
): EvaluationReport[] {
  const reports: EvaluationReport[] = [];
  const pad = tok.padId ?? tok.eosId!;
  const enc = encodeOptions(job, tok.eosId!);
  if (validation.length > 0) {
    const t0 = performance.now();
    const seqs = validation.slice(0, job.eval.validation_samples ?? validation.length);
    const loss = meanLoss(model, seqs, pad, job.train.batch_size, prefix);
    reports.push({
      split: 'validation',
      examples: seqs.length,
      loss,
      perplexity: Math.exp(loss),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  if (splits.test.length > 0) {
    const t0 = performance.now();
    const examples = splits.test.slice(0, job.eval.samples ?? splits.test.length);
    const test = examples.map((e) => encodeCausal(e, tok, enc));
    const loss = meanLoss(model, test, pad, job.train.batch_size, prefix);
    const predictions = summarise(model, tok, examples, {
      ...enc,
      beams: job.eval.beams,
      maxNewTokens: job.eval.max_new_tokens,
      ...(prefix ? { prefix } : {}),
    });
    reports.push({
      split: 'test',
      examples: examples.length,
      loss,
      perplexity: Math.exp(loss),
      rouge: meanRouge(
        predictions,
        examples.map((e) => e.target),
      ),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return reports;
}
