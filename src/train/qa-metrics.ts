/**
 * Question-answering metrics. Exact match and F1 as the official SQuAD v1.1 evaluation script
 * computes them (`normalize_answer`: lowercase, drop ASCII punctuation, drop the articles a/an/the
 * as whole words, collapse whitespace; F1 over the bags of normalised tokens), each taken as the
 * best over the accepted answers, as WebQuestions has several. Multiple-choice accuracy picks the
 * candidate with the highest score (the first on a tie, as `argmax`).
 */

/** Python's `string.punctuation`. */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
/** Python's `\b(a|an|the)\b` on str: a word character is a letter, a number or `_` (Unicode). */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** What Python's `str.split()` splits on (`str.isspace`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's str.isspace counts the separators \x1c–\x1f.
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** SQuAD's `normalize_answer`. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  const noPunctuation = [...lower].filter((ch) => !PUNCTUATION.has(ch)).join('');
  return tokens(noPunctuation.replace(ARTICLES, ' ')).join(' ');
}

function tokens(s: string): string[] {
  return s.split(WHITESPACE).filter((t) => t !== '');
}

export function exactMatch(prediction: string, truth: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(truth) ? 1 : 0;
}

/** Token-level F1 between the normalised prediction and answer (0 when they share no token). */
export function f1Score(prediction: string, truth: string): number {
  const p = tokens(normalizeAnswer(prediction));
  const t = tokens(normalizeAnswer(truth));
  const counts = new Map<string, number>();
  for (const w of t) counts.set(w, (counts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      same++;
      counts.set(w, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / t.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface QaScores {
  /** Percent of questions whose prediction matches some answer exactly (after normalisation). */
  readonly exact_match: number;
  /** Mean over questions of the best F1 against any answer, in percent. */
  readonly f1: number;
}

/** EM and F1 over questions, each question scored against its best-matching answer. */
export function qaScores(predictions: readonly string[], answers: readonly (readonly string[])[]): QaScores {
  if (predictions.length !== answers.length)
    throw new Error(`${predictions.length} predictions for ${answers.length} questions`);
  if (predictions.length === 0) return { exact_match: 0, f1: 0 };
  const best = (metric: (p: string, t: string) => number, i: number) =>
    Math.max(...answers[i]!.map((a) => metric(predictions[i]!, a)));
  let em = 0;
  let f1 = 0;
  for (let i = 0; i < predictions.length; i++) {
    em += best(exactMatch, i);
    f1 += best(f1Score, i);
  }
  return { exact_match: (100 * em) / predictions.length, f1: (100 * f1) / predictions.length };
}

/** Percent of examples whose highest-scoring candidate is the labelled one. */
export function choiceAccuracy(scores: readonly (readonly number[])[], labels: readonly number[]): number {
  if (scores.length !== labels.length)
    throw new Error(`${scores.length} scored examples for ${labels.length} labels`);
  if (scores.length === 0) return 0;
  const right = scores.filter((s, i) => s.indexOf(Math.max(...s)) === labels[i]).length;
  return (100 * right) / scores.length;
}
