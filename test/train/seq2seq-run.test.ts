import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '../../src/models/checkpoint.js';
import { Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import type { StepEvent } from '../../src/train/run-events.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { tinyJob } from '../helpers/tiny-job.js';
import { evaluated, losses, open, readAll, trainChild } from '../helpers/train-run.js';

const t5Job = (extra = '', examples = 24) => tinyJob(extra, examples, 't5');

/** Edits the job file: `from` → `to`. */
function edit(jobFile: string, from: string, to: string): void {
  writeFileSync(jobFile, readFileSync(jobFile, 'utf8').replace(from, to));
}

const meanLoss = (s: readonly StepEvent[]) => s.reduce((a, e) => a + e.loss, 0) / s.length;

const withRho = (jobFile: string, rho: number) => edit(jobFile, 'rho: 0.6', `rho: ${rho}`);

describe('train/run: an encoder-decoder model (T5) end to end', () => {
  before(() => useBackend(testBackend()));

  for (const rho of [0.5, 1]) {
    it(`trains with GreenTrainer at ρ ${rho}: the loss falls, each audited step executes the modeled FLOPs within 3 %, the model saves and loads`, async () => {
      // Batches of 12: the audited step also runs AdamW (about 15 FLOPs a trained weight, which the
      // FLOPs model leaves out); a real model's tokens dwarf that, a tiny one's need a bigger batch.
      const job = t5Job('', 48);
      withRho(job.jobFile, rho);
      edit(job.jobFile, 'interval_steps: 5', 'interval_steps: 3');
      edit(job.jobFile, 'batch_size: 4', 'batch_size: 12');
      const before = tf.memory().numTensors;
      const { run, events, steps } = open(job.jobFile);
      const report = await run.run();
      assert.equal(tf.memory().numTensors, before, 'every tensor the run made is disposed');
      assert.equal(report.steps, 8);
      const s = steps();
      for (const e of s) assert.ok(e.flops <= rho * e.fullFlops * 1.0001, `step ${e.step} over ρ`);
      const [first, last] = [meanLoss(s.slice(0, 3)), meanLoss(s.slice(-3))];
      assert.ok(last < first, `the loss falls: ${first} → ${last}`);
      const selections = events.filter((e) => e.type === 'selection') as Array<{
        selected: readonly string[];
      }>;
      assert.ok(
        selections.some((x) => x.selected.some((n) => n.startsWith('encoder.'))) || rho < 1,
        'ρ 1 trains encoder tensors too',
      );
      const audited = s.filter((e) => e.executedFlops !== undefined);
      assert.ok(audited.length >= 3, `${audited.length} audited steps`);
      for (const e of audited) {
        const error = Math.abs(e.executedFlops! / e.flops - 1);
        console.log(
          `      ρ ${rho}, step ${e.step}: executed/modeled − 1 = ${(100 * (e.executedFlops! / e.flops - 1)).toFixed(2)} %`,
        );
        assert.ok(error < 0.03, `step ${e.step}: executed ${e.executedFlops}, modeled ${e.flops}`);
      }
      const saved = loadModel(join(job.output, 'model'));
      assert.ok(saved instanceof Seq2SeqLM);
      saved.dispose();
    });
  }

  it('resumes after kill -9 during step 5 with per-step losses identical to an uninterrupted run', async function () {
    this.timeout(120_000);
    const straight = t5Job();
    withRho(straight.jobFile, 0.5);
    const a = await trainChild(['--job', straight.jobFile, '--max-steps', '8']);
    const cut = t5Job();
    withRho(cut.jobFile, 0.5);
    edit(cut.jobFile, 'every_steps: 5', 'every_steps: 4');
    const b1 = await trainChild(
      ['--job', cut.jobFile, '--max-steps', '8'],
      (e) => e.type === 'checkpoint' && e.step === 4,
    );
    assert.ok(losses(b1).length < 8, 'the first run was killed before the end');
    const b2 = await trainChild(['--job', cut.jobFile, '--max-steps', '8', '--resume']);
    const start = b2.find((e) => e.type === 'start') as { step: number };
    assert.equal(start.step, 4, 'resumed from the checkpoint at step 4');
    assert.deepEqual(losses(b1).slice(0, 4), losses(a).slice(0, 4));
    assert.deepEqual(
      losses(b2),
      losses(a).slice(4),
      'steps 5–8 after the resume equal the uninterrupted run',
    );
    assert.equal(losses(a).length, 8);
  });

  it('trains LoRA on every W_Q and W_V and merges it into the saved model; evaluates with beam search', async () => {
    const job = t5Job('method: lora\nlora: { rank: 4, alpha: 8 }\n');
    const { report, events } = await evaluated(job.jobFile);
    const selection = events.find((e) => e.type === 'selection') as { selected: readonly string[] };
    const adapted = [...new Set(selection.selected.map((n) => n.replace(/\.lora_[AB]$/, '')))].sort();
    // 2 encoder self-attentions, 2 decoder self- and 2 cross-attentions, each q and v.
    assert.equal(adapted.length, 12);
    assert.ok(adapted.every((n) => /\.(q|v)\.weight$/.test(n)));
    const s = events.filter((e): e is StepEvent => e.type === 'step');
    assert.ok(s.at(-1)!.loss < s[0]!.loss, 'the loss falls');
    const base = readAll(join(job.dir, 'model', 'model.safetensors'));
    const tuned = readAll(join(job.output, 'model', 'model.safetensors'));
    assert.deepEqual(
      [...tuned.keys()].sort(),
      [...base.keys()].sort(),
      'no adapter tensors in the saved model',
    );
    const changed = [...base.keys()].filter((k) => base.get(k)!.some((v, i) => v !== tuned.get(k)![i]));
    assert.deepEqual(changed.sort(), adapted);
    const test = report.evaluation.after!.find((r) => r.split === 'test')!;
    assert.ok(test.rouge && test.rouge.rouge1 >= 0 && test.rouge.rouge1 <= 100);
  });

  it('trains prefix vectors in the decoder blocks only, and evaluates with the prefix in front', async () => {
    const job = t5Job('method: prefix\nprefix: { length: 3 }\n');
    edit(job.jobFile, 'lr: 1.0e-3', 'lr: 3.0e-2');
    const { report, events } = await evaluated(job.jobFile);
    const selection = events.find((e) => e.type === 'selection') as { selected: readonly string[] };
    assert.deepEqual([...selection.selected].sort(), [
      'prefix.0.k',
      'prefix.0.v',
      'prefix.1.k',
      'prefix.1.v',
    ]);
    const s = events.filter((e): e is StepEvent => e.type === 'step');
    assert.ok(meanLoss(s.slice(-3)) < meanLoss(s.slice(0, 3)), 'the loss falls');
    assert.ok(report.flops.saved_ratio > 0);
    assert.ok(report.evaluation.after!.find((r) => r.split === 'test')!.rouge);
    const base = readAll(join(job.dir, 'model', 'model.safetensors'));
    const tuned = readAll(join(job.output, 'model', 'model.safetensors'));
    for (const [k, v] of base) assert.deepEqual(tuned.get(k), v, `${k} is frozen`);
    assert.equal(
      readAll(join(job.output, 'model', 'prefix.safetensors')).get('prefix.0.k')!.length,
      2 * 3 * 8,
    );
    assert.ok(existsSync(join(job.output, 'report.json')));
  });

  for (const [preset, splits, metric] of [
    ['webquestions', '{ validation: test }', 'qa'],
    ['piqa', '{ validation: valid, test: valid }', 'accuracy'],
  ] as const) {
    it(`fine-tunes on ${preset} with T5's "question:" prompt and reports its metric`, async () => {
      const job = t5Job();
      const data = new URL(`../fixtures/qa/${preset}`, import.meta.url).pathname;
      edit(
        job.jobFile,
        'dataset: { path: data }',
        `dataset: { path: ${data}, preset: ${preset}, splits: ${splits} }`,
      );
      edit(job.jobFile, 'epochs: 2', 'epochs: 1');
      const { report, events } = await evaluated(job.jobFile);
      assert.equal(report.status, 'finished');
      assert.ok(events.some((e) => e.type === 'step'));
      const test = report.evaluation.after!.find((r) => r.split === 'test')!;
      assert.equal(test.rouge, undefined, 'no ROUGE for a QA task');
      if (metric === 'qa') {
        assert.equal(test.examples, 3);
        assert.ok(test.qa!.exact_match >= 0 && test.qa!.f1 >= test.qa!.exact_match && test.qa!.f1 <= 100);
      } else {
        assert.ok(
          [0, 100 / 3, 200 / 3, 100].some((a) => Math.abs(a - test.accuracy!) < 1e-9),
          `${test.accuracy}`,
        );
      }
    });
  }
});
