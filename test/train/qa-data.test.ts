import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/models/checkpoint.js';
import { DatasetError } from '../../src/train/data.js';
import { logLikelihood } from '../../src/train/evaluate.js';
import { readPiqa, readWebQuestions } from '../../src/train/qa-data.js';
import { testBackend, useBackend } from '../helpers/backend.js';

const qa = (path: string) => new URL(`../fixtures/qa/${path}`, import.meta.url).pathname;
const golden = (name: string) => new URL(`../fixtures/golden/${name}/`, import.meta.url).pathname;

describe('train/qa-data: WebQuestions and PIQA in their public formats', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-qa-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads WebQuestions: the question as source, every answer kept, the first one trained on', () => {
    const examples = readWebQuestions(qa('webquestions/train.jsonl'), 'jsonl');
    assert.equal(examples.length, 8);
    assert.deepEqual(examples[0], {
      source: 'what is the name of justin bieber brother?',
      target: 'Jazmyn Bieber',
      answers: ['Jazmyn Bieber', 'Jaxon Bieber'],
    });
  });

  it('reads PIQA with labels from the original release’s -labels.lst file or from the record', () => {
    const train = readPiqa(qa('piqa/train.jsonl'), 'jsonl');
    assert.deepEqual(
      train.map((e) => e.label),
      [0, 0, 1, 0, 1, 0],
    );
    assert.equal(train[2]!.source, 'dresser');
    assert.deepEqual(train[2]!.choices, ['replace drawer with bobby pin', 'finish, woodwork']);
    assert.equal(train[2]!.target, 'finish, woodwork', 'trained on the right solution');
    const valid = readPiqa(qa('piqa/valid.jsonl'), 'jsonl');
    assert.deepEqual(
      valid.map((e) => e.label),
      [0, 1, 0],
    );
  });

  it('names the file and line of a bad record, a missing label and a label file of the wrong length', () => {
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const noAnswers = file('wq.jsonl', '{"question": "q?", "answers": []}\n');
    assert.throws(
      () => readWebQuestions(noAnswers, 'jsonl'),
      (e: unknown) =>
        e instanceof DatasetError &&
        e.message === `${noAnswers}:1: field 'answers' must be a non-empty list of non-empty strings`,
    );
    const unlabelled = file('test.jsonl', '{"goal": "g", "sol1": "a", "sol2": "b"}\n');
    assert.throws(
      () => readPiqa(unlabelled, 'jsonl'),
      (e: unknown) =>
        e instanceof DatasetError &&
        e.message ===
          `${unlabelled}:1: no field 'label', and no ${join(dir, 'test-labels.lst')} beside the file`,
    );
    const badLabel = file('bad.jsonl', '{"goal": "g", "sol1": "a", "sol2": "b", "label": 2}\n');
    assert.throws(
      () => readPiqa(badLabel, 'jsonl'),
      /bad\.jsonl:1: 'label' must be 0 \(sol1\) or 1 \(sol2\), got 2/,
    );
    copyFileSync(qa('piqa/train.jsonl'), join(dir, 'train.jsonl'));
    writeFileSync(join(dir, 'train-labels.lst'), '0\n1\n');
    assert.throws(
      () => readPiqa(join(dir, 'train.jsonl'), 'jsonl'),
      /train-labels\.lst: 2 labels, none for \S+train\.jsonl:3$/,
    );
    writeFileSync(join(dir, 'train-labels.lst'), '0\n1\n0\n0\n1\n0\n1\n');
    assert.throws(
      () => readPiqa(join(dir, 'train.jsonl'), 'jsonl'),
      /train-labels\.lst: 7 labels for 6 records/,
    );
    writeFileSync(join(dir, 'train-labels.lst'), '0\nx\n1\n1\n0\n0\n');
    assert.throws(
      () => readPiqa(join(dir, 'train.jsonl'), 'jsonl'),
      /train-labels\.lst:2: expected 0 or 1, got 'x'/,
    );
  });
});

describe('train/evaluate: the log-likelihood that multiple choice is scored by', () => {
  before(() => useBackend(testBackend()));

  /** Hugging Face's summed log-probability of its greedy continuation (make-golden.py). */
  function reference(name: string) {
    const g = JSON.parse(readFileSync(join(golden(name), 'golden.json'), 'utf8')).generation;
    return {
      prompt: g.prompt_ids[0] as number[],
      greedy: g.greedy[0] as number[],
      sum: g.greedy_sum_logprob[0],
    };
  }

  for (const name of ['t5', 't5-tied', 'llama']) {
    it(`${name}: equals Hugging Face's for its greedy continuation (relative 1e-5)`, () => {
      const model = loadModel(golden(name));
      const { prompt, greedy, sum } = reference(name);
      const seq = model.spec.encoderDecoder
        ? { ids: prompt, labels: greedy.slice(1) }
        : { ids: greedy, labels: greedy.map((id, i) => (i < prompt.length ? -100 : id)) };
      const got = logLikelihood(model, seq, 0);
      model.dispose();
      assert.ok(Math.abs(got - sum) / Math.abs(sum) < 1e-5, `${got} vs ${sum}`);
    });
  }
});
