/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum as Google's `rouge-score` computes them with
 * `use_stemmer=True` (the paper's metric, and HF `evaluate`'s): lowercase, non-alphanumerics to
 * spaces, NLTK's Porter stemmer on tokens longer than 3 characters; clipped n-gram overlap; LCS
 * over the whole text for ROUGE-L; for ROUGE-Lsum, newline-separated sentences and the
 * summary-level union LCS with hits clipped by token counts on both sides. Empty text scores 0.
 *
 * Written here rather than taken from `js-rouge`, which returns F only and throws on empty text;
 * pinned to reference scores in test/fixtures/rouge (see make-rouge-fixtures.py).
 */
import { porterStem } from './porter-stemmer.js';

export interface RougeScore {
  readonly precision: number;
  readonly recall: number;
  readonly fmeasure: number;
}

export type RougeType = 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLsum';
export type RougeScores = Readonly<Record<RougeType, RougeScore>>;

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .filter((t) => t !== '')
    .map((t) => (t.length > 3 ? porterStem(t) : t))
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

const score = (hits: number, predicted: number, target: number): RougeScore => {
  const precision = hits / Math.max(predicted, 1);
  const recall = hits / Math.max(target, 1);
  return {
    precision,
    recall,
    fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
  };
};
const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

function counts<T>(xs: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function rougeN(target: string[], prediction: string[], n: number): RougeScore {
  const grams = (t: string[]) =>
    counts(Array.from({ length: Math.max(0, t.length - n + 1) }, (_, i) => t.slice(i, i + n).join(' ')));
  const tg = grams(target);
  const pg = grams(prediction);
  let hits = 0;
  for (const [g, c] of tg) hits += Math.min(c, pg.get(g) ?? 0);
  return score(hits, Math.max(0, prediction.length - n + 1), Math.max(0, target.length - n + 1));
}

function lcsTable(a: readonly string[], b: readonly string[]): Int32Array[] {
  const t = Array.from({ length: a.length + 1 }, () => new Int32Array(b.length + 1));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
    }
  }
  return t;
}

function rougeL(target: string[], prediction: string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return ZERO;
  return score(
    lcsTable(target, prediction)[target.length]![prediction.length]!,
    prediction.length,
    target.length,
  );
}

/** Indices into `ref` of one longest common subsequence with `can` (rouge-score's backtrack). */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const t = lcsTable(ref, can);
  const out: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.unshift(i - 1);
      i--;
      j--;
    } else if (t[i]![j - 1]! > t[i - 1]![j]!) j--;
    else i--;
  }
  return out;
}

function rougeLsum(target: string, prediction: string): RougeScore {
  const sentences = (text: string) =>
    text
      .split('\n')
      .filter((s) => s.length > 0)
      .map(tokenize);
  const refs = sentences(target);
  const cans = sentences(prediction);
  const m = refs.reduce((a, s) => a + s.length, 0);
  const n = cans.reduce((a, s) => a + s.length, 0);
  if (m === 0 || n === 0) return ZERO;
  const left = { r: counts(refs.flat()), c: counts(cans.flat()) };
  let hits = 0;
  for (const r of refs) {
    const union = [...new Set(cans.flatMap((c) => lcsIndices(r, c)))].sort((a, b) => a - b);
    for (const token of union.map((i) => r[i]!)) {
      if ((left.c.get(token) ?? 0) > 0 && (left.r.get(token) ?? 0) > 0) {
        hits++;
        left.c.set(token, left.c.get(token)! - 1);
        left.r.set(token, left.r.get(token)! - 1);
      }
    }
  }
  return score(hits, n, m);
}

/** Scores of one prediction against its reference. */
export function rouge(prediction: string, reference: string): RougeScores {
  const t = tokenize(reference);
  const p = tokenize(prediction);
  return {
    rouge1: rougeN(t, p, 1),
    rouge2: rougeN(t, p, 2),
    rougeL: rougeL(t, p),
    rougeLsum: rougeLsum(reference, prediction),
  };
}

/** Mean F-measures over pairs, in percent (as the paper's tables). */
export function meanRouge(
  predictions: readonly string[],
  references: readonly string[],
): Record<RougeType, number> {
  if (predictions.length !== references.length) throw new RangeError('one reference per prediction');
  const sum = { rouge1: 0, rouge2: 0, rougeL: 0, rougeLsum: 0 };
  predictions.forEach((p, i) => {
    const s = rouge(p, references[i]!);
    for (const k of Object.keys(sum) as RougeType[]) sum[k] += s[k].fmeasure;
  });
  const n = Math.max(1, predictions.length);
  return {
    rouge1: (100 * sum.rouge1) / n,
    rouge2: (100 * sum.rouge2) / n,
    rougeL: (100 * sum.rougeL) / n,
    rougeLsum: (100 * sum.rougeLsum) / n,
  };
}
