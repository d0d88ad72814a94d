import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { TextTokenizer, TokenizerFileError } from '../../src/models/tokenizer.js';

interface Case {
  text: string;
  ids: number[];
  ids_no_special: number[];
  decoded: string;
  decoded_skip_special: string;
}

const folder = (name: string) => new URL(`../fixtures/tokenizers/${name}/`, import.meta.url).pathname;

describe('models/tokenizer', () => {
  for (const name of ['gpt2-bytelevel', 'llama-bpe']) {
    describe(name, () => {
      const tokenizer = TextTokenizer.load(folder(name));
      const cases = (JSON.parse(readFileSync(`${folder(name)}expected.json`, 'utf8')) as { cases: Case[] })
        .cases;

      it(`encodes ${cases.length} texts exactly as the Rust tokenizers library does, with and without special tokens`, () => {
        for (const c of cases) {
          assert.deepEqual(tokenizer.encode(c.text), c.ids, JSON.stringify(c.text));
          assert.deepEqual(tokenizer.encode(c.text, false), c.ids_no_special, JSON.stringify(c.text));
        }
      });

      it('decodes back as the Rust library does', () => {
        for (const c of cases) {
          assert.equal(tokenizer.decode(c.ids, false), c.decoded, JSON.stringify(c.text));
          assert.equal(tokenizer.decode(c.ids), c.decoded_skip_special, JSON.stringify(c.text));
        }
      });
    });
  }

  it('reads BOS, EOS and PAD ids from tokenizer_config.json', () => {
    const t = TextTokenizer.load(folder('llama-bpe'));
    assert.deepEqual([t.bosId, t.eosId, t.padId], [1, 2, 0]);
  });

  it('names the folder when tokenizer.json is missing', () => {
    assert.throws(
      () => TextTokenizer.load('/nonexistent/model'),
      (e: unknown) =>
        e instanceof TokenizerFileError && /no tokenizer\.json in \/nonexistent\/model/.test(e.message),
    );
  });
});
