/**
 * A job's evaluation: validation loss and perplexity (teacher forcing, target tokens only), and on
 * the test split the task's metric: ROUGE as Google's `rouge-score` on summaries written by beam
 * search, SQuAD-style exact match and F1 on answers written by beam search, or the accuracy of
 * picking the likelier candidate (multiple choice).
 *
 * It yields to the event loop between batches and between examples, and returns `undefined` as
 * soon as `stopped()` holds there: a stop request (SIGTERM to the daemon, a lost daemon) reaches
 * the trainer's message handler and ends an evaluation within one batch or example.
 */
import type { TextTokenizer } from '../models/tokenizer.js';
import type { Example } from './data.js';
import { batchLoss, choiceScores, summarise } from './evaluate.js';
import { encodeOptions, type Job } from './job.js';
import { encodeFor, type LanguageModel, type Sequence } from './lm-batch.js';
import type { Prefix } from './prefix.js';
import { choiceAccuracy, exactMatch, f1Score, qaScores } from './qa-metrics.js';
import { meanRouge, rouge } from './rouge.js';
import type { EvaluationReport } from './run-events.js';
import type { Splits } from './splits.js';

export async function evaluateModel(
  model: LanguageModel,
  tok: TextTokenizer,
  job: Job,
  splits: Splits,
  validation: readonly Sequence[],
  prefix?: Prefix,
  stopped: () => boolean = () => false,
  perExample = false,
): Promise<EvaluationReport[] | undefined> {
  const reports: EvaluationReport[] = [];
  const pad = tok.padId ?? tok.eosId!;
  const enc = encodeOptions(job, tok.eosId!, splits.task, model.spec.encoderDecoder);
  const loss = (seqs: readonly Sequence[]) =>
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
    const l = await loss(examples.map((e) => encodeFor(model, e, tok, enc)));
    if (l === undefined) return undefined;
    const metric = await forEachYielding(examples, stopped, (e) =>
      splits.task === 'choice'
        ? choiceScores(model, tok, e, enc, prefix)
        : summarise(model, tok, [e], {
            ...enc,
            beams: job.eval.beams,
            maxNewTokens: job.eval.max_new_tokens,
            ...(prefix ? { prefix } : {}),
          })[0]!,
    );
    if (metric === undefined) return undefined;
    reports.push({
      split: 'test',
      examples: examples.length,
      loss: l,
      perplexity: Math.exp(l),
      ...testMetric(splits.task, examples, metric),
      ...(perExample ? { per_example: exampleMetrics(splits.task, examples, metric) } : {}),
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return reports;
}

/** The task's metric over the test examples, from what `evaluateModel` produced for each. */
function testMetric(
  task: Splits['task'],
  examples: readonly Example[],
  outputs: ReadonlyArray<string | number[]>,
): Pick<EvaluationReport, 'rouge' | 'qa' | 'accuracy'> {
  if (task === 'choice')
    return {
      accuracy: choiceAccuracy(
        outputs as number[][],
        examples.map((e) => e.label ?? -1),
      ),
    };
  const texts = outputs as string[];
  if (task === 'qa')
    return {
      qa: qaScores(
        texts,
        examples.map((e) => e.answers ?? [e.target]),
      ),
    };
  return {
    rouge: meanRouge(
      texts,
      examples.map((e) => e.target),
    ),
  };
}

/**
 * The task's metrics for each test example (in percent: ROUGE F-measures, best F1 and exact match
 * over the answers, 100 or 0 for a right or wrong choice), whose means are `testMetric`'s.
 */
export function exampleMetrics(
  task: Splits['task'],
  examples: readonly Example[],
  outputs: ReadonlyArray<string | number[]>,
): Record<string, number[]> {
  if (task === 'choice') {
    const scores = outputs as number[][];
    return {
      accuracy: scores.map((s, i) => (s.indexOf(Math.max(...s)) === (examples[i]!.label ?? -1) ? 100 : 0)),
    };
  }
  const texts = outputs as string[];
  if (task === 'qa') {
    const best = (metric: (p: string, t: string) => number) =>
      texts.map(
        (p, i) => 100 * Math.max(...(examples[i]!.answers ?? [examples[i]!.target]).map((a) => metric(p, a))),
      );
    return { f1: best(f1Score), exact_match: best(exactMatch) };
  }
  const scores = texts.map((p, i) => rouge(p, examples[i]!.target));
  return Object.fromEntries(
    (['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const).map((k) => [
      k,
      scores.map((r) => 100 * r[k].fmeasure),
    ]),
  );
}

/** `f` over the items with a stop check before each: undefined when stopped. */
async function forEachYielding<T, R>(
  items: readonly T[],
  stopped: () => boolean,
  f: (item: T) => R,
): Promise<R[] | undefined> {
  const out: R[] = [];
  for (const item of items) {
    await yieldToEvents();
    if (stopped()) return undefined;
    out.push(f(item));
  }
  return out;
}

/** `meanLoss` one batch at a time with a stop check between: undefined when stopped. */
async function meanLossYielding(
  model: LanguageModel,
  sequences: readonly Sequence[],
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
