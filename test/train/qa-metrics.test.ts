import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import {
  choiceAccuracy,
  exactMatch,
  f1Score,
  normalizeAnswer,
  qaScores,
} from '../../src/train/qa-metrics.js';

/** Numbers from the official SQuAD v1.1 functions (test/fixtures/make-qa-reference.py). */
interface Reference {
  cases: Array<{
    prediction: string;
    answers: string[];
    normalized_prediction: string;
    exact_match: number;
    f1: number;
  }>;
  total: { exact_match: number; f1: number };
}
const reference = JSON.parse(
  readFileSync(new URL('../fixtures/qa/squad-reference.json', import.meta.url), 'utf8'),
) as Reference;

describe('train/qa-metrics', () => {
  it('normalises as SQuAD does: case, ASCII punctuation, whole-word articles, whitespace', () => {
    assert.equal(normalizeAnswer('  The  Eiffel, Tower!! '), 'eiffel tower');
    assert.equal(normalizeAnswer('theater'), 'theater', 'an article inside a word stays');
    assert.equal(normalizeAnswer('U.S.A.'), 'usa');
    assert.equal(normalizeAnswer('«quoted»'), '«quoted»', 'only ASCII punctuation goes');
    assert.equal(normalizeAnswer('théa'), 'théa', 'é is a word character: no article boundary');
    assert.equal(normalizeAnswer('the'), '');
  });

  it('scores hand-checked cases: EM 1 after normalisation, F1 from shared tokens, 0 when nothing is shared', () => {
    assert.equal(exactMatch('The Eiffel Tower', 'eiffel tower'), 1);
    assert.equal(exactMatch('Eiffel', 'Eiffel Tower'), 0);
    // bob bob vs bob: precision 1/2, recall 1/1 → F1 2/3.
    assert.equal(f1Score('bob bob', 'bob'), 2 / 3);
    // justin biebers brother jaxon vs jaxon bieber: 1 shared token, P 1/4, R 1/2 → F1 1/3.
    assert.equal(f1Score("Justin Bieber's brother Jaxon", 'Jaxon Bieber'), 1 / 3);
    assert.equal(f1Score('', 'something'), 0);
    assert.equal(f1Score('the', 'a'), 0, 'two empty answers share no token, though they match exactly');
    assert.equal(exactMatch('the', 'a'), 1);
  });

  it(`matches the official SQuAD evaluation on ${reference.cases.length} cases, each against its best answer`, () => {
    for (const c of reference.cases) {
      assert.equal(normalizeAnswer(c.prediction), c.normalized_prediction, JSON.stringify(c.prediction));
      const got = qaScores([c.prediction], [c.answers]);
      assert.equal(got.exact_match, 100 * c.exact_match, `EM of ${JSON.stringify(c.prediction)}`);
      assert.ok(Math.abs(got.f1 - 100 * c.f1) < 1e-9, `F1 of ${JSON.stringify(c.prediction)}: ${got.f1}`);
    }
    const all = qaScores(
      reference.cases.map((c) => c.prediction),
      reference.cases.map((c) => c.answers),
    );
    assert.ok(Math.abs(all.exact_match - reference.total.exact_match) < 1e-9);
    assert.ok(Math.abs(all.f1 - reference.total.f1) < 1e-9);
  });

  it('takes the likelier candidate for multiple choice, the first on a tie', () => {
    assert.equal(
      choiceAccuracy(
        [
          [-3, -5],
          [-4, -2],
          [-1, -1],
          [-7, -6],
        ],
        [0, 1, 1, 0],
      ),
      50,
    );
    assert.equal(choiceAccuracy([], []), 0);
    assert.throws(() => choiceAccuracy([[0, 1]], []), /1 scored examples for 0 labels/);
  });
});
