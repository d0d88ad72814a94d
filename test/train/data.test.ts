import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextTokenizer } from '../../src/models/tokenizer.js';
import {
  DatasetError,
  encodeCausal,
  encodeSeq2Seq,
  PRESETS,
  padBatch,
  padSeq2SeqBatch,
  readExamples,
  shuffledOrder,
} from '../../src/train/data.js';
import { linearLr } from '../../src/train/lr-schedule.js';

describe('train/data', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-data-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const tok = TextTokenizer.load(new URL('../fixtures/tokenizers/llama-bpe/', import.meta.url).pathname);

  it('reads SciTLDR records: source sentences joined, the first target', () => {
    const file = write(
      'scitldr.jsonl',
      `${JSON.stringify({ source: ['We study X.', 'It works.'], target: ['X works.', 'Another.'] })}\n\n`,
    );
    assert.deepEqual(readExamples(file, PRESETS.scitldr), [
      { source: 'We study X. It works.', target: 'X works.' },
    ]);
  });

  it('reads DialogSum records from a JSON array', () => {
    const file = write('dialogsum.json', JSON.stringify([{ dialogue: '#P1#: hi', summary: 'They greet.' }]));
    assert.deepEqual(readExamples(file, PRESETS.dialogsum, 'json'), [
      { source: '#P1#: hi', target: 'They greet.' },
    ]);
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      'a line without the target field',
      '{"source":"a","target":"b"}\n{"source":"c"}\n',
      /:2: field 'target' must be a non-empty string/,
    ],
    [
      'a line that is not JSON',
      '{"source":"a","target":"b"}\n{oops\n',
      /bad\.jsonl: invalid JSON at line 2, column 2: Expected property name/,
    ],
    ['an empty dataset', '\n\n', /: no examples$/],
  ];
  for (const [what, text, message] of bad) {
    it(`names the file and line of ${what}`, () => {
      const file = write('bad.jsonl', text);
      assert.throws(
        () => readExamples(file, { source: 'source', target: 'target' }),
        (e: unknown) => e instanceof DatasetError && e.message.startsWith(file) && message.test(e.message),
      );
    });
  }

  it('builds "[source] TL;DR: [target]</s>", cuts the source to fit, and puts the loss on the target only', () => {
    const example = {
      source: 'The GNU General Public License is a free license. '.repeat(20),
      target: 'A free license.',
    };
    const seq = encodeCausal(example, tok, {
      prompt: 'tldr',
      maxInputLength: 40,
      maxOutputLength: 16,
      eosId: tok.eosId!,
    });
    const promptLength = seq.labels.findIndex((l) => l !== -100);
    assert.equal(promptLength, 40);
    assert.equal(seq.ids[0], tok.bosId);
    assert.match(tok.decode(seq.ids.slice(0, promptLength)), /TL;DR:\s*$/);
    assert.deepEqual(seq.labels.slice(promptLength), seq.ids.slice(promptLength));
    assert.equal(seq.ids.at(-1), tok.eosId);
    assert.match(tok.decode(seq.ids.slice(promptLength)), /A free license\./);
  });

  it('shuffles deterministically per seed and epoch, and pads batches with masked, ignored positions', () => {
    assert.deepEqual(shuffledOrder(10, 7, 0), shuffledOrder(10, 7, 0));
    assert.notDeepEqual(shuffledOrder(10, 7, 0), shuffledOrder(10, 7, 1));
    assert.deepEqual(
      [...shuffledOrder(10, 7, 3)].sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i),
    );
    const b = padBatch(
      [
        { ids: [1, 2, 3], labels: [-100, 2, 3] },
        { ids: [1, 4], labels: [-100, 4] },
      ],
      0,
    );
    assert.deepEqual(b, {
      ids: [
        [1, 2, 3],
        [1, 4, 0],
      ],
      mask: [
        [1, 1, 1],
        [1, 1, 0],
      ],
      labels: [
        [-100, 2, 3],
        [-100, 4, -100],
      ],
    });
  });

  it('schedules the learning rate linearly, with warm-up', () => {
    const s = { lr: 2e-5, warmupSteps: 10, totalSteps: 110 };
    assert.deepEqual(
      [0, 5, 10, 60, 110, 200].map((t) => linearLr(s, t)),
      [0, 1e-5, 2e-5, 1e-5, 0, 0],
    );
  });

  it('encodes for T5: the tokenizer’s specials around "summarize: " + the source cut to fit; the target + EOS, shifted right for the decoder', () => {
    const o = { prompt: 'summarize' as const, maxInputLength: 12, maxOutputLength: 4, eosId: 2 };
    const e = {
      source: 'one two three four five six seven eight nine ten eleven',
      target: 'alpha beta gamma delta',
    };
    const s = encodeSeq2Seq(e, tok, o);
    const bos = tok.encode('', true); // this Llama-style template puts <s> before the text
    const head = tok.encode('summarize: ', false);
    assert.equal(s.ids.length, 12);
    assert.deepEqual(s.ids.slice(0, bos.length + head.length), [...bos, ...head]);
    assert.deepEqual(
      s.ids.slice(bos.length + head.length),
      tok.encode(e.source, false).slice(0, 12 - bos.length - head.length),
    );
    assert.deepEqual(s.labels, [...tok.encode(e.target, false).slice(0, 3), 2]);
    const b = padSeq2SeqBatch([s, { ids: [5, 6], labels: [7, 2] }], 0, 9);
    assert.deepEqual(b.mask[1], [1, 1, ...Array(10).fill(0)]);
    assert.deepEqual(b.ids[1], [5, 6, ...Array(10).fill(0)]);
    assert.deepEqual(b.labels[1], [7, 2, -100, -100]);
    assert.deepEqual(b.decoderIds[1], [9, 7, 2, 0], 'start token, then the labels with −100 as the pad id');
    assert.deepEqual(b.decoderIds[0], [9, ...s.labels.slice(0, 3)]);
  });
});
