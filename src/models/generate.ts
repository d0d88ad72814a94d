/**
 * Text generation with a K/V cache: greedy decoding and beam search with Hugging Face's
 * semantics (scores are summed log-probabilities; a finished hypothesis scores
 * sum / generated_length^length_penalty; with early_stopping false, search ends when no running
 * beam can beat the worst finished one).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayerCache } from './attention.js';
import type { CausalLM } from './causal-lm.js';

export interface GenerateOptions {
  readonly maxNewTokens: number;
  /** Ids that end a sequence. */
  readonly eosTokenIds?: readonly number[];
  /** Beams; 1 is greedy. */
  readonly numBeams?: number;
  readonly lengthPenalty?: number;
  /** Reuse keys and values of earlier positions (default); false recomputes the whole prefix each step. */
  readonly useCache?: boolean;
}

interface Beam {
  readonly tokens: number[];
  readonly score: number;
}

/** Generates a continuation of one prompt; returns prompt + new tokens. */
export function generate(model: CausalLM, prompt: readonly number[], o: GenerateOptions): number[] {
  const beams = o.numBeams ?? 1;
  const eos = new Set(o.eosTokenIds ?? []);
  const lengthPenalty = o.lengthPenalty ?? 1;
  const stepper = new Stepper(model, o.useCache ?? true);
  let running: Beam[] = [{ tokens: [...prompt], score: 0 }];
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
  const generated = running.length > 0 ? running[0]!.tokens.length - prompt.length : 0;
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

/** Runs the model one position at a time, with or without a cache. */
class Stepper {
  private cache: readonly LayerCache[] | undefined;

  constructor(
    private readonly model: CausalLM,
    private readonly useCache: boolean,
  ) {}

  /** Log-probabilities of the next token for each sequence (all of one length). */
  next(sequences: number[][]): Float32Array[] {
    const batch = sequences.length;
    const length = sequences[0]!.length;
    const fresh = this.useCache && this.cache ? sequences.map((s) => s.slice(-1)) : sequences;
    const t = fresh[0]!.length;
    const [logProbs, ...kv] = tf.tidy(() => {
      const ids = tf.tensor2d(fresh.flat(), [batch, t], 'int32');
      const mask = tf.ones([batch, length]) as tf.Tensor2D;
      const { logits, cache } = this.model.forward({
        ids,
        mask,
        ...(this.useCache && this.cache ? { cache: this.cache } : {}),
      });
      const last = tf.reshape(tf.slice(logits, [0, t - 1, 0], [batch, 1, -1]), [batch, -1]);
      return [tf.logSoftmax(last), ...(this.useCache ? cache.flatMap((c) => [c.k, c.v]) : [])];
    });
    if (this.useCache) {
      if (this.cache) tf.dispose(this.cache.flatMap((c) => [c.k, c.v]));
      this.cache = Array.from({ length: kv.length / 2 }, (_, i) => ({
        k: kv[2 * i] as tf.Tensor3D,
        v: kv[2 * i + 1] as tf.Tensor3D,
      }));
    }
    const values = logProbs!.arraySync() as number[][];
    logProbs!.dispose();
    return values.map((v) => Float32Array.from(v));
  }

  /** Keeps the cache rows of the chosen parent beams, in order, out of `beams` sequences. */
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

/** Rows of the parent beams from a [B·H, S, hd] cache of `beams` sequences. */
function pick(x: tf.Tensor3D, parents: number[], beams: number): tf.Tensor3D {
  const [bh, s, hd] = x.shape;
  const heads = bh / beams;
  const rows = tf.gather(tf.reshape(x, [beams, heads, s, hd]), tf.tensor1d(parents, 'int32'), 0); // [B', H, S, hd]
  return tf.reshape(rows, [parents.length * heads, s, hd]);
}
