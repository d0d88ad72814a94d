import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
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

  // demo/model is what `npm start` fine-tunes; demo/model-large is the study's second model (issue 19).
  for (const folder of ['model', 'model-large']) {
    it(`demo/${folder} is measurably pretrained: zero-shot validation loss ≥ 30 % below the same architecture with random weights`, function () {
      this.timeout(120_000);
      const config = JSON.parse(readFileSync(dir(`${folder}/config.json`), 'utf8'));
      const tok = TextTokenizer.load(dir(folder));
      const examples = readExamples(dir('data/validation.jsonl'), {
        source: 'source',
        target: 'target',
      }).slice(0, 32);
      const seqs = examples.map((e) =>
        encodeCausal(e, tok, { prompt: 'tldr', maxInputLength: 160, maxOutputLength: 24, eosId: tok.eosId! }),
      );
      const pretrained = loadCausalLM(dir(folder));
      const random = CausalLM.random(config, 'random', 123);
      const lp = meanLoss(pretrained, seqs, tok.padId!, 8);
      const lr = meanLoss(random, seqs, tok.padId!, 8);
      pretrained.dispose();
      random.dispose();
      console.log(
        `      zero-shot validation loss (demo/${folder}): pretrained ${lp.toFixed(3)}, random ${lr.toFixed(3)}`,
      );
      assert.ok(lp <= 0.7 * lr, `pretrained ${lp} vs random ${lr}`);
    });
  }

  it('demo/model-large is the study model the docs describe: 6 layers, d 320, ≤ 40 MB, demo/model’s tokenizer', () => {
    const config = JSON.parse(readFileSync(dir('model-large/config.json'), 'utf8'));
    assert.equal(config.num_hidden_layers, 6);
    assert.equal(config.hidden_size, 320);
    assert.equal(config.vocab_size, 4096);
    const bytes = statSync(dir('model-large/model.safetensors')).size;
    assert.ok(bytes <= 40 * 1024 * 1024, `${bytes} bytes`);
    // The study compares the two models on one task: same tokens, so the same tokenizer, byte for byte.
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      assert.ok(readFileSync(dir(`model-large/${f}`)).equals(readFileSync(dir(`model/${f}`))), f);
  });
});
