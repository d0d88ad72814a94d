import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigFileError } from '../../src/config/yaml-file.js';
import { RhoError } from '../../src/greentrainer/errors.js';
import { DatasetError } from '../../src/train/data.js';
import { readJob } from '../../src/train/job.js';
import { TrainingRun } from '../../src/train/run.js';
import type { RunEvent, SelectionReport, StepEvent } from '../../src/train/run-events.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import { tinyJob } from '../helpers/tiny-job.js';
import { losses, open, readAll, trainChild } from '../helpers/train-run.js';

describe('train/run: a job end to end', () => {
  before(() => useBackend(testBackend()));

  it('trains within ρ, checkpoints every N steps keeping K, writes the model and report, and leaks no tensor', async () => {
    const job = tinyJob();
    const before = tf.memory().numTensors;
    const { run, events, steps } = open(job.jobFile);
    const report = await run.run();
    assert.equal(tf.memory().numTensors, before, 'every tensor the run made is disposed');
    assert.equal(report.status, 'finished');
    assert.equal(report.steps, 12, '24 examples, batch 4, 2 epochs');
    const s = steps();
    assert.equal(s.length, 12);
    for (const e of s)
      assert.ok(e.flops <= 0.6 * e.fullFlops * 1.0001, `step ${e.step}: ${e.flops} > 0.6 × ${e.fullFlops}`);
    assert.ok(s.at(-1)!.loss < s[0]!.loss, 'the loss falls');
    assert.ok(
      s.some((e) => e.executedFlops !== undefined),
      'the step after a selection is audited',
    );
    assert.equal(events.filter((e) => e.type === 'selection').length, 3, 'selections at steps 0, 5, 10');
    assert.deepEqual(
      events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step),
      [5, 10, 12],
    );
    assert.ok(existsSync(join(job.output, 'checkpoints', 'step-00000010')));
    assert.ok(!existsSync(join(job.output, 'checkpoints', 'step-00000005')), 'only the last 2 are kept');
    assert.ok(existsSync(join(job.output, 'model', 'model.safetensors')));
    const saved = JSON.parse(readFileSync(join(job.output, 'report.json'), 'utf8'));
    assert.equal(saved.steps, 12);
    // ρ 0.6 saves over 30 % of the steps' FLOPs; 3 re-selections in 12 steps take back part of it.
    const gross = 1 - saved.flops.training / saved.flops.full;
    assert.ok(gross > 0.3, `saved ${gross} before re-selection`);
    assert.ok(
      saved.flops.saved_ratio > 0 && saved.flops.saved_ratio < gross,
      `saved ${saved.flops.saved_ratio}`,
    );
    // Re-selection's importance passes are counted and netted from the FLOPs saved.
    const selections = events.filter((e): e is SelectionReport => e.type === 'selection');
    const fullStep = Math.max(...s.map((e) => e.fullFlops));
    for (const x of selections) assert.ok(x.flops > 0 && x.flops <= fullStep, `selection ${x.flops} FLOPs`);
    assert.equal(
      report.flops.selection,
      selections.reduce((a, x) => a + x.flops, 0),
    );
    const { training, selection, full } = report.flops;
    assert.equal(report.flops.saved_ratio, (full - training - selection) / full);
    // Each selection is reported as its own phase between training steps.
    const phases = events.filter((e) => e.type === 'phase').map((e) => e.phase);
    assert.deepEqual(phases.slice(0, 3), ['train', 'select', 'train']);
    assert.equal(phases.filter((p) => p === 'select').length, 3);
    assert.ok(phases.includes('checkpoint'));
  });

  it('applies setRho at the next step boundary with a re-selection, and stops on request with a checkpoint', async () => {
    const job = tinyJob('', 40);
    const { run, events, steps } = open(job.jobFile);
    const done = run.run();
    await new Promise((r) => setImmediate(r));
    run.setRho(0.9);
    while (steps().length < 3) await new Promise((r) => setTimeout(r, 5));
    run.requestStop();
    const report = await done;
    assert.equal(report.status, 'stopped');
    const selections = events.filter((e) => e.type === 'selection');
    assert.ok(selections.length >= 2, 'a selection after setRho');
    assert.equal((selections[1] as { rho: number }).rho, 0.9);
    const rhos = steps().map((e) => e.rho);
    assert.equal(rhos[0], 0.6);
    assert.ok(rhos.includes(0.9));
    const last = events.filter((e) => e.type === 'checkpoint').at(-1) as { step: number; reason: string };
    assert.equal(last.reason, 'stop');
    assert.equal(last.step, report.steps);
  });

  it('refuses, with the reason, a job with an unknown key, an empty dataset, a record without its target, and ρ below the floor', () => {
    const unknown = tinyJob('colour: blue\n');
    assert.throws(
      () => readJob(unknown.jobFile),
      (e: unknown) =>
        e instanceof ConfigFileError && /job\.yaml:10:1: colour: unknown key 'colour'/.test(e.message),
    );
    const empty = tinyJob();
    writeFileSync(join(empty.dir, 'data', 'train.jsonl'), '\n');
    assert.throws(
      () => open(empty.jobFile),
      (e: unknown) => e instanceof DatasetError && /train\.jsonl: no examples/.test(String(e)),
    );
    const noTarget = tinyJob();
    writeFileSync(
      join(noTarget.dir, 'data', 'train.jsonl'),
      '{"source": "a b c", "target": "a"}\n{"source": "x y z"}\n',
    );
    assert.throws(
      () => open(noTarget.jobFile),
      (e: unknown) => e instanceof DatasetError && /train\.jsonl:2: field 'target'/.test(String(e)),
    );
    const low = tinyJob();
    writeFileSync(low.jobFile, readFileSync(low.jobFile, 'utf8').replace('rho: 0.6', 'rho: 0.05'));
    assert.throws(() => open(low.jobFile), RhoError);
    assert.ok(!existsSync(join(low.output, '.lock')), 'a refused job leaves no lock behind');
  });

  it('evaluates after training: validation loss and perplexity, test ROUGE from beam search', async () => {
    const job = tinyJob();
    const events: RunEvent[] = [];
    const run = TrainingRun.open(readJob(job.jobFile), {
      backend: testBackend(),
      emit: (e) => events.push(e),
    });
    const report = await run.run();
    const after = report.evaluation.after!;
    const validation = after.find((r) => r.split === 'validation')!;
    const test = after.find((r) => r.split === 'test')!;
    assert.ok(validation.loss! > 0 && Math.abs(validation.perplexity! - Math.exp(validation.loss!)) < 1e-9);
    assert.equal(test.examples, 4);
    assert.ok(test.rouge && test.rouge.rouge1 >= 0 && test.rouge.rouge1 <= 100);
    assert.deepEqual(
      JSON.parse(readFileSync(join(job.output, 'report.json'), 'utf8')).evaluation.after,
      after,
    );
  });

  it('trains LoRA adapters on W_Q and W_V only, with the scheme’s FLOPs, and merges them into the saved model', async () => {
    const job = tinyJob('method: lora\nlora: { rank: 4, alpha: 8 }\n');
    const { run, events, steps } = open(job.jobFile);
    const report = await run.run();
    const selection = events.find((e) => e.type === 'selection') as { selected: readonly string[] };
    assert.deepEqual(
      selection.selected,
      [
        'model.decoder.layers.1.self_attn.q_proj.weight',
        'model.decoder.layers.1.self_attn.v_proj.weight',
        'model.decoder.layers.0.self_attn.q_proj.weight',
        'model.decoder.layers.0.self_attn.v_proj.weight',
      ]
        .flatMap((w) => [`${w}.lora_A`, `${w}.lora_B`])
        .sort((a, b) => selection.selected.indexOf(a) - selection.selected.indexOf(b)),
    );
    assert.ok(steps().at(-1)!.loss < steps()[0]!.loss, 'the loss falls');
    assert.ok(
      report.flops.saved_ratio > 0 && report.flops.saved_ratio < 0.6,
      `saved ${report.flops.saved_ratio}`,
    );
    const base = readAll(join(job.dir, 'model', 'model.safetensors'));
    const tuned = readAll(join(job.output, 'model', 'model.safetensors'));
    assert.deepEqual(
      [...tuned.keys()].sort(),
      [...base.keys()].sort(),
      'no adapter tensors in the saved model',
    );
    const changed = [...base.keys()].filter((k) => base.get(k)!.some((v, i) => v !== tuned.get(k)![i]));
    assert.deepEqual(
      changed.sort(),
      selection.selected
        .filter((n) => n.endsWith('lora_A'))
        .map((n) => n.replace('.lora_A', ''))
        .sort(),
    );
  });

  it('trains prefix-tuning vectors only, with the scheme’s FLOPs, and evaluates with the prefix in front', async () => {
    const job = tinyJob('method: prefix\nprefix: { length: 3 }\n');
    const events: RunEvent[] = [];
    const run = TrainingRun.open(readJob(job.jobFile), {
      backend: testBackend(),
      emit: (e) => events.push(e),
    });
    const report = await run.run();
    const selection = events.find((e) => e.type === 'selection') as { selected: readonly string[] };
    assert.deepEqual([...selection.selected].sort(), [
      'prefix.0.k',
      'prefix.0.v',
      'prefix.1.k',
      'prefix.1.v',
    ]);
    const s = events.filter((e): e is StepEvent => e.type === 'step');
    assert.ok(s.at(-1)!.loss < s[0]!.loss, 'the loss falls');
    assert.ok(report.flops.saved_ratio > 0, `saved ${report.flops.saved_ratio}`);
    assert.ok(report.evaluation.after!.find((r) => r.split === 'test')!.rouge);
    const base = readAll(join(job.dir, 'model', 'model.safetensors'));
    const tuned = readAll(join(job.output, 'model', 'model.safetensors'));
    for (const [k, v] of base) assert.deepEqual(tuned.get(k), v, `${k} is frozen`);
    assert.equal(readAll(join(job.output, 'model', 'prefix.safetensors')).size, 4);
  });

  it('will not overwrite a run folder with checkpoints unless asked to resume', async () => {
    const job = tinyJob();
    await open(job.jobFile).run.run();
    assert.throws(() => open(job.jobFile), /already holds checkpoints: pass --resume/);
    const again = open(job.jobFile, true);
    assert.equal(again.run.step, 12);
    const report = await again.run.run();
    assert.equal(report.steps, 12, 'a finished run resumed stays finished');
  });

  it('resumes after kill -9 during step 11 with per-step losses identical to an uninterrupted run', async function () {
    this.timeout(120_000);
    const straight = tinyJob('', 48);
    const a = await trainChild(['--job', straight.jobFile, '--max-steps', '20']);
    const cut = tinyJob('', 48);
    writeFileSync(
      cut.jobFile,
      readFileSync(cut.jobFile, 'utf8').replace('every_steps: 5', 'every_steps: 10'),
    );
    const b1 = await trainChild(
      ['--job', cut.jobFile, '--max-steps', '20'],
      (e) => e.type === 'checkpoint' && e.step === 10,
    );
    assert.ok(losses(b1).length < 20, 'the first run was killed before the end');
    const b2 = await trainChild(['--job', cut.jobFile, '--max-steps', '20', '--resume']);
    const start = b2.find((e) => e.type === 'start') as { step: number };
    assert.equal(start.step, 10, 'resumed from the checkpoint at step 10');
    assert.deepEqual(losses(a).slice(0, 10), losses(b1).slice(0, 10));
    assert.deepEqual(
      losses(b2),
      losses(a).slice(10),
      'steps 11–20 after the resume equal the uninterrupted run',
    );
    // The run log spans both processes, and report.svg is drawn from it: every step's loss.
    const file = (b2.at(-1) as unknown as { type: string; file: string }).file;
    assert.equal(file, join(cut.output, 'report.svg'));
    const points = Number(/data-series="loss" data-points="(\d+)"/.exec(readFileSync(file, 'utf8'))?.[1]);
    assert.ok(points >= 20, `${points} loss points`);
  });

  it('with selection.moments keep, checkpoints the frozen moments and resumes bit for bit', async () => {
    const keep = (text: string) =>
      text.replace('selection: { interval_steps: 5 }', 'selection: { interval_steps: 2, moments: keep }');
    const straight = tinyJob('', 48);
    writeFileSync(straight.jobFile, keep(readFileSync(straight.jobFile, 'utf8')));
    const a = open(straight.jobFile);
    await a.run.run();
    const cut = tinyJob('', 48);
    writeFileSync(
      cut.jobFile,
      keep(readFileSync(cut.jobFile, 'utf8')).replace('every_steps: 5', 'every_steps: 100'),
    );
    const b1 = open(cut.jobFile);
    const done = b1.run.run();
    while (b1.steps().length < 9) await new Promise((r) => setTimeout(r, 2));
    b1.run.requestStop();
    const stopped = await done;
    assert.equal(stopped.status, 'stopped');
    const dir = join(cut.output, 'checkpoints', `step-${String(stopped.steps).padStart(8, '0')}`);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    const selected = new Set<string>(state.trainer.selected);
    const frozen = Object.keys(state.optimizerSteps).filter((n) => !selected.has(n));
    assert.ok(frozen.length > 0, 'the checkpoint holds moments of tensors outside the selection');
    assert.ok(readAll(join(dir, 'optimizer.safetensors')).has(`${frozen[0]}::m`));
    const b2 = open(cut.jobFile, true);
    await b2.run.run();
    const at = (e: StepEvent) => [e.step, e.loss] as const;
    assert.deepEqual(
      [...b1.steps().map(at), ...b2.steps().map(at)],
      a.steps().map(at),
      'stopped and resumed, the losses are the uninterrupted run’s',
    );
  });
});

describe('config/job.example.yaml', () => {
  it('is a valid job with the paper defaults', () => {
    const job = readJob(new URL('../../config/job.example.yaml', import.meta.url).pathname);
    assert.equal(job.train.batch_size, 4);
    assert.equal(job.train.lr, 2e-5);
    assert.equal(job.train.weight_decay, 0.01);
    assert.equal(job.train.epochs, 5);
    assert.match(job.model, /\/demo\/model$/);
  });
});
