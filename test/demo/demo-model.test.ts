import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadCausalLM } from '../../src/models/checkpoint.js';
import { TextTokenizer } from '../../src/models/tokenizer.js';
import { encodeCausal, readExamples } from '../../src/train/data.js';
import { meanLoss } from '../../src/train/evaluate.js';
import { testBackend, useBackend } from '../helpers/backend.js';

const dir = (p: string) => new URL(`../../demo/${p}`, import.meta.url).pathname;

describe('demo: the bundled model and data', () => {
  before(() => useBackend(testBackend()));

  it('is a small OPT folder that loads on this backend, with data splits of the documented sizes', () => {
    const config = JSON.parse(readFileSync(dir('model/config.json'), 'utf8'));
    assert.equal(config.model_type, 'opt');
    const sizes = ['train', 'validation', 'test'].map(
      (s) => readExamples(dir(`data/${s}.jsonl`), { source: 'source', target: 'target' }).length,
    );
    assert.deepEqual(sizes, [4000, 300, 300]);
  });

  it('is measurably pretrained: zero-shot validation loss ≥ 30 % below the same architecture with random weights', () => {
    const config = JSON.parse(readFileSync(dir('model/config.json'), 'utf8'));
    const tok = TextTokenizer.load(dir('model'));
    const examples = readExamples(dir('data/validation.jsonl'), { source: 'source', target: 'target' }).slice(
      0,
      32,
    );
    const seqs = examples.map((e) =>
      encodeCausal(e, tok, { prompt: 'tldr', maxInputLength: 160, maxOutputLength: 24, eosId: tok.eosId! }),
    );
    const pretrained = loadCausalLM(dir('model'));
    const random = CausalLM.random(config, 'random', 123);
    const lp = meanLoss(pretrained, seqs, tok.padId!, 8);
    const lr = meanLoss(random, seqs, tok.padId!, 8);
    pretrained.dispose();
    random.dispose();
    console.log(`      zero-shot validation loss: pretrained ${lp.toFixed(3)}, random ${lr.toFixed(3)}`);
    assert.ok(lp <= 0.7 * lr, `pretrained ${lp} vs random ${lr}`);
  });
});
