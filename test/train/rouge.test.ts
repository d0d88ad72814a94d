import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { porterStem } from '../../src/train/porter-stemmer.js';
import { meanRouge, type RougeType, rouge } from '../../src/train/rouge.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/rouge/${name}`, import.meta.url), 'utf8'));

describe('train/rouge: equal to rouge-score (use_stemmer=True)', () => {
  it("stems every word as NLTK's default PorterStemmer does", () => {
    const stems = fixture('stems.json') as Record<string, string>;
    const wrong = Object.entries(stems).filter(([w, s]) => porterStem(w) !== s);
    assert.ok(Object.keys(stems).length > 5000);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${Object.keys(stems).length} stems differ`);
    assert.equal(porterStem('dying'), 'die');
    assert.equal(porterStem('constructor'), 'constructor');
  });

  it('matches the reference precision, recall and F on every pair (1e-12)', () => {
    const pairs = fixture('pairs.json') as Array<{
      prediction: string;
      reference: string;
      scores: Record<RougeType, number[]>;
    }>;
    assert.ok(pairs.length >= 300);
    let mismatches = 0;
    for (const p of pairs) {
      const got = rouge(p.prediction, p.reference);
      for (const k of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as RougeType[]) {
        const [precision, recall, f] = p.scores[k]!;
        const g = got[k];
        if (
          Math.abs(g.precision - precision!) > 1e-12 ||
          Math.abs(g.recall - recall!) > 1e-12 ||
          Math.abs(g.fmeasure - f!) > 1e-12
        ) {
          mismatches++;
          if (mismatches < 5) console.log(k, JSON.stringify(p), g);
        }
      }
    }
    assert.equal(mismatches, 0);
  });

  it('scores empty text 0 instead of throwing, and averages F in percent', () => {
    assert.equal(rouge('', 'a reference').rougeLsum.fmeasure, 0);
    assert.equal(rouge('text', '').rouge1.fmeasure, 0);
    const m = meanRouge(['the cat sat', ''], ['the cat sat', 'anything']);
    assert.equal(m.rouge1, 50);
  });
});
