import { strict as assert } from 'node:assert';
import type { Example } from '../../src/train/data.js';
import { choiceAccuracy, qaScores } from '../../src/train/qa-metrics.js';
import { meanRouge } from '../../src/train/rouge.js';
import { exampleMetrics } from '../../src/train/run-evaluation.js';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

describe('train/run-evaluation: metrics per test example', () => {
  it('gives each example its ROUGE F-measures, whose means are the report’s', () => {
    const examples = [
      { source: 's', target: 'the cat sat on the mat' },
      { source: 's', target: 'solar power peaks at noon' },
      { source: 's', target: 'wind at night' },
    ] as Example[];
    const outputs = ['the cat sat', 'solar peaks at noon today', 'nothing alike'];
    const per = exampleMetrics('summarization', examples, outputs);
    // "the cat sat" against "the cat sat on the mat": P 3/3, R 3/6, F 2/3.
    close(per.rouge1![0]!, 100 * (2 / 3), 'ROUGE-1 of the first');
    assert.equal(per.rouge1![2], 0);
    const means = meanRouge(
      outputs,
      examples.map((e) => e.target),
    );
    for (const k of ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'] as const) close(mean(per[k]!), means[k], k);
  });

  it('gives QA examples their best F1 and exact match over the answers, and choices 100 or 0', () => {
    const qa = [
      { source: 'q', target: 'Paris', answers: ['Paris', 'paris france'] },
      { source: 'q', target: 'blue', answers: ['dark blue'] },
    ] as Example[];
    const per = exampleMetrics('qa', qa, ['the Paris', 'blue']);
    assert.deepEqual(per.exact_match, [100, 0]);
    close(per.f1![1]!, 100 * (2 / 3), 'F1 of "blue" against "dark blue"');
    const scores = qaScores(
      ['the Paris', 'blue'],
      qa.map((e) => e.answers!),
    );
    close(mean(per.f1!), scores.f1, 'F1');
    close(mean(per.exact_match!), scores.exact_match, 'EM');
    const choice = [{ label: 1 }, { label: 0 }, { label: 1 }] as Example[];
    const s = [
      [-3, -1],
      [-2, -5],
      [-1, -4],
    ];
    assert.deepEqual(exampleMetrics('choice', choice, s).accuracy, [100, 100, 0]);
    close(
      mean(exampleMetrics('choice', choice, s).accuracy!),
      choiceAccuracy(
        s,
        choice.map((e) => e.label!),
      ),
      'accuracy',
    );
  });
});
