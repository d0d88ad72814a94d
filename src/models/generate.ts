/**
 * Text generation with a K/V cache: greedy decoding and beam search with Hugging Face's
 * semantics (scores are summed log-probabilities; a finished hypothesis scores
 * sum / generated_length^length_penalty; with early_stopping false, search ends when no running
 * beam can beat the worst finished one).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './attention.js';
import { CausalLM } from './causal-lm.js';
import type { Seq2SeqLM } from './seq2seq-lm.js';

export interface GenerateOptions {
  readonly maxNewTokens: number;
  /** Ids that end a sequence. */
  readonly eosTokenIds?: readonly number[];
  /** Beams; 1 is greedy. */
  readonly numBeams?: number;
  readonly lengthPenalty?: number;
  /** Reuse keys and values of earlier positions (default); false recomputes the whole prefix each step. */
  readonly useCache?: boolean;
  /** Trained prefix keys and values (prefix tuning), per (decoder) layer [H_kv, p, hd]; needs the cache. */
  readonly prefix?: readonly LayerCache[];
}

interface Beam {
  readonly tokens: number[];
  readonly score: number;
}

/**
 * Generates from one prompt. A causal LM returns prompt + new tokens; an encoder-decoder model
 * encodes the prompt once and returns the decoder sequence (its start token + new tokens), as
 * Hugging Face's `generate` does.
 */
export function generate(
  model: CausalLM | Seq2SeqLM,
  prompt: readonly number[],
  o: GenerateOptions,
): number[] {
  const beams = o.numBeams ?? 1;
  const eos = new Set(o.eosTokenIds ?? []);
  const lengthPenalty = o.lengthPenalty ?? 1;
  const useCache = o.useCache ?? true;
  const causal = model instanceof CausalLM;
  const stepper: Stepper = causal
    ? new CausalStepper(model, useCache || o.prefix !== undefined, o.prefix)
    : new Seq2SeqStepper(model, prompt, useCache || o.prefix !== undefined, o.prefix);
  const start = causal ? [...prompt] : [model.decoderStartId];
  let running: Beam[] = [{ tokens: start, score: 0 }];
  const finished: Array<Beam & { normalised: number }> = [];
  try {
    for (let step = 0; step < o.maxNewTokens; step++) {
      const logProbs = stepper.next(running.map((b) => b.tokens));
      const candidates = topCandidates(logProbs, running, 2 * beams);
      const next: Beam[] = [];
      const parents: number[] = [];
      for (const c of candidates) {
        const tokens = [...running[c.beam]!.tokens, c.token];
        if (eos.has(c.token)) {
          // Hugging Face only lets an EOS candidate in when it ranks among the top num_beams.
          if (candidates.indexOf(c) < beams) {
            finished.push({ tokens, score: c.score, normalised: c.score / (step + 1) ** lengthPenalty });
          }
          continue;
        }
        next.push({ tokens, score: c.score });
        parents.push(c.beam);
        if (next.length === beams) break;
      }
      stepper.reorder(parents, running.length);
      running = next;
      if (beams === 1 && finished.length > 0) break;
      if (finished.length >= beams && done(finished, running, step + 1, beams, lengthPenalty)) break;
    }
  } finally {
    stepper.dispose();
  }
  const generated = running.length > 0 ? running[0]!.tokens.length - start.length : 0;
  for (const b of running)
    finished.push({ ...b, normalised: b.score / Math.max(generated, 1) ** lengthPenalty });
  finished.sort((a, b) => b.normalised - a.normalised);
  return finished[0]!.tokens;
}

function done(
  finished: Array<{ normalised: number }>,
  running: Beam[],
  length: number,
  beams: number,
  lp: number,
): boolean {
  const worst = [...finished].sort((a, b) => b.normalised - a.normalised)[beams - 1]!.normalised;
  const best = Math.max(...running.map((b) => b.score)) / length ** lp;
  return best <= worst;
}

/** The `count` best (beam, token) continuations by summed log-probability. */
function topCandidates(logProbs: Float32Array[], running: Beam[], count: number) {
  const all: Array<{ beam: number; token: number; score: number }> = [];
  logProbs.forEach((row, beam) => {
    for (let token = 0; token < row.length; token++)
      all.push({ beam, token, score: running[beam]!.score + row[token]! });
  });
  // Stable sort: ties keep beam-major, token-minor order, as torch.topk does on the flattened scores.
  all.sort((a, b) => b.score - a.score);
  return all.slice(0, count);
}

/** Runs a model one position at a time, for every running beam. */
interface Stepper {
  /** Log-probabilities of the next token for each sequence (all of one length). */
  next(sequences: number[][]): Float32Array[];
  /** Keeps the state of the chosen parent beams, in order, out of `beams` sequences. */
  reorder(parents: number[], beams: number): void;
  dispose(): void;
}

/** The decoder self-attention cache both kinds of model keep, and its bookkeeping. */
abstract class CachingStepper implements Stepper {
  protected cache: readonly LayerCache[] | undefined;

  constructor(
    protected readonly useCache: boolean,
    /** Trained prefix keys and values per layer [H_kv, p, hd], the cache before the first step. */
    protected readonly prefix?: readonly LayerCache[],
  ) {}

  abstract next(sequences: number[][]): Float32Array[];

  /** New positions to feed: the last token once a cache exists, else the whole sequences. */
  protected fresh(sequences: number[][]): number[][] {
    return this.useCache && this.cache ? sequences.map((s) => s.slice(-1)) : sequences;
  }

  /** The cache to pass to the model for `batch` sequences: the last step's, else the prefix's, if any. */
  protected past(batch: number): { cache?: readonly LayerCache[] } {
    if (this.useCache && this.cache) return { cache: this.cache };
    if (!this.prefix) return {};
    return {
      cache: this.prefix.map((c) => ({ k: tf.tile(c.k, [batch, 1, 1]), v: tf.tile(c.v, [batch, 1, 1]) })),
    };
  }

  /** Takes a step's log-probabilities and new cache (made inside a tidy) and returns the values. */
  protected keep(logProbs: tf.Tensor, kv: tf.Tensor[]): Float32Array[] {
    if (this.useCache) {
      if (this.cache) tf.dispose(this.cache.flatMap((c) => [c.k, c.v]));
      this.cache = Array.from({ length: kv.length / 2 }, (_, i) => ({
        k: kv[2 * i] as tf.Tensor3D,
        v: kv[2 * i + 1] as tf.Tensor3D,
      }));
    }
    const values = logProbs.arraySync() as number[][];
    logProbs.dispose();
    return values.map((v) => Float32Array.from(v));
  }

  reorder(parents: number[], beams: number): void {
    if (!this.cache || (parents.length === beams && parents.every((p, i) => p === i))) return;
    const old = this.cache;
    this.cache = tf.tidy(() =>
      old.map(({ k, v }) => ({ k: pick(k, parents, beams), v: pick(v, parents, beams) })),
    );
    tf.dispose(old.flatMap((c) => [c.k, c.v]));
  }

  dispose(): void {
    if (this.cache) tf.dispose(this.cache.flatMap((c) => [c.k, c.v]));
  }
}

/** The log-softmax of the last position's logits [B, T, V] → [B, V], then the cache as a flat list. */
function lastStep(logits: tf.Tensor3D, cache: readonly LayerCache[], useCache: boolean): tf.Tensor[] {
  const [batch, t] = logits.shape;
  const last = tf.reshape(tf.slice(logits, [0, t - 1, 0], [batch, 1, -1]), [batch, -1]);
  return [tf.logSoftmax(last), ...(useCache ? cache.flatMap((c) => [c.k, c.v]) : [])];
}

class CausalStepper extends CachingStepper {
  constructor(
    private readonly model: CausalLM,
    useCache: boolean,
    prefix?: readonly LayerCache[],
  ) {
    super(useCache, prefix);
  }

  next(sequences: number[][]): Float32Array[] {
    const batch = sequences.length;
    const fresh = this.fresh(sequences);
    const prefixLength = this.prefix?.[0]?.k.shape[1] ?? 0;
    const [logProbs, ...kv] = tf.tidy(() => {
      const ids = tf.tensor2d(fresh.flat(), [batch, fresh[0]!.length], 'int32');
      const mask = tf.ones([batch, prefixLength + sequences[0]!.length]) as tf.Tensor2D;
      const { logits, cache } = this.model.forward({ ids, mask, ...this.past(batch) });
      return lastStep(logits, cache, this.useCache);
    });
    return this.keep(logProbs!, kv);
  }
}

/** Encodes the prompt once; each step runs the decoder on the encoder output repeated per beam. */
class Seq2SeqStepper extends CachingStepper {
  private readonly encoded: tf.Tensor2D;

  constructor(
    private readonly model: Seq2SeqLM,
    private readonly prompt: readonly number[],
    useCache: boolean,
    prefix?: readonly LayerCache[],
  ) {
    super(useCache, prefix);
    this.encoded = tf.tidy(() => {
      const ids = tf.tensor2d([[...prompt]], undefined, 'int32');
      const decoderIds = tf.tensor2d([[model.decoderStartId]], undefined, 'int32');
      return model.forward({ ids, mask: tf.ones([1, prompt.length]) as tf.Tensor2D, decoderIds }).encoded;
    });
  }

  next(sequences: number[][]): Float32Array[] {
    const batch = sequences.length;
    const te = this.prompt.length;
    const fresh = this.fresh(sequences);
    const [logProbs, ...kv] = tf.tidy(() => {
      const ids = tf.tensor2d(
        sequences.map(() => [...this.prompt]),
        [batch, te],
        'int32',
      );
      const encoded = tf.reshape(tf.tile(tf.reshape(this.encoded, [1, te, -1]), [batch, 1, 1]), [
        batch * te,
        -1,
      ]) as tf.Tensor2D; // [B·Te, d]
      const { logits, cache } = this.model.forward({
        ids,
        mask: tf.ones([batch, te]) as tf.Tensor2D,
        decoderIds: tf.tensor2d(fresh.flat(), [batch, fresh[0]!.length], 'int32'),
        encoded,
        ...this.past(batch),
      });
      return lastStep(logits, cache, this.useCache);
    });
    return this.keep(logProbs!, kv);
  }

  override dispose(): void {
    super.dispose();
    this.encoded.dispose();
  }
}

/** Rows of the parent beams from a [B·H, S, hd] cache of `beams` sequences. */
function pick(x: tf.Tensor3D, parents: number[], beams: number): tf.Tensor3D {
  const [bh, s, hd] = x.shape;
  const heads = bh / beams;
  const rows = tf.gather(tf.reshape(x, [beams, heads, s, hd]), tf.tensor1d(parents, 'int32'), 0); // [B', H, S, hd]
  return tf.reshape(rows, [parents.length * heads, s, hd]);
}
