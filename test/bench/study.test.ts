import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  allMethods,
  churn,
  compareAblation,
  currentResults,
  jobFor,
  pairedBootstrap,
  pairedDifferences,
  portablePath,
  type RunResult,
  readResults,
  resultFile,
  runStudy,
  type StudyOptions,
  studyReport,
  summarise,
  t975,
  tInterval,
} from '../../bench/study.js';
import { testBackend, useBackend } from '../helpers/backend.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('bench/study: the study runner', () => {
  before(() => useBackend(testBackend()));

  it('runs a 2-step toy study, skips finished runs, and redoes exactly a deleted and a corrupt result', async function () {
    this.timeout(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'gt-study-'));
    // demo/data cut to 40 training examples: encoding all 4,000 would take most of the test's time.
    mkdirSync(join(dir, 'data'));
    for (const [split, n] of [
      ['train', 40],
      ['validation', 4],
      ['test', 2],
    ] as const) {
      const lines = readFileSync(join(ROOT, 'demo/data', `${split}.jsonl`), 'utf8')
        .split('\n')
        .slice(0, n);
      writeFileSync(join(dir, 'data', `${split}.jsonl`), `${lines.join('\n')}\n`);
    }
    const methods = allMethods([0.7]).filter((m) => m.id === 'full' || m.id === 'gt-0.7');
    const o: StudyOptions = {
      model: join(ROOT, 'demo/model'),
      data: join(dir, 'data'),
      splits: ['train', 'validation', 'test'],
      seeds: [1, 2],
      steps: 2,
      test: 2,
      validation: 4,
      maxNewTokens: 4,
      methods,
      resultsDir: join(dir, 'results'),
      workDir: join(dir, 'work'),
      backend: testBackend(),
      log: (line) => lines.push(line),
      onRun: (key) => trained.push(key),
    };
    const lines: string[] = [];
    const trained: string[] = [];
    const before = tf.memory().numTensors;
    const first = await runStudy(o);
    assert.deepEqual(first.ran, ['full-seed1', 'full-seed2', 'gt-0.7-seed1', 'gt-0.7-seed2']);
    assert.deepEqual(first.failed, []);
    assert.equal(tf.memory().numTensors, before, 'the runs leak no tensor');
    const files = readdirSync(o.resultsDir).sort();
    assert.deepEqual(files, ['full-seed1.json', 'full-seed2.json', 'gt-0.7-seed1.json', 'gt-0.7-seed2.json']);
    const r = JSON.parse(readFileSync(resultFile(o.resultsDir, 'gt-0.7', 2), 'utf8')) as RunResult;
    assert.equal(r.seed, 2);
    assert.equal(r.steps, 2);
    assert.equal(r.job.name, 'gt-0.7');
    assert.equal(r.per_example.rouge1!.length, 2, 'ROUGE-1 of each of the 2 test examples');
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.equal(r.metrics.rouge1, mean(r.per_example.rouge1!));
    assert.ok(r.validation_loss! > 0);
    assert.ok(r.eval_seconds > 0);
    assert.ok(r.flops.training > 0 && r.flops.selection > 0 && r.flops.training < r.flops.full);
    assert.equal(r.flops.saved_net, (r.flops.full - r.flops.training - r.flops.selection) / r.flops.full);
    assert.equal(r.backend, testBackend());
    assert.equal(readdirSync(o.resultsDir).filter((f) => f.endsWith('.tmp')).length, 0);

    // A second invocation trains nothing and leaves every file as it was.
    const mtimes = files.map((f) => statSync(join(o.resultsDir, f)).mtimeMs);
    const second = await runStudy(o);
    assert.deepEqual(second.ran, []);
    assert.equal(trained.length, 4, 'no run opened the second time');
    assert.equal(second.skipped.length, 4);
    assert.deepEqual(
      files.map((f) => statSync(join(o.resultsDir, f)).mtimeMs),
      mtimes,
    );

    // A deleted and a half-written result are run again, the corrupt file named; the rest skipped.
    rmSync(resultFile(o.resultsDir, 'full', 2));
    const corrupt = resultFile(o.resultsDir, 'gt-0.7', 1);
    const original = JSON.parse(readFileSync(corrupt, 'utf8')) as RunResult;
    writeFileSync(corrupt, readFileSync(corrupt, 'utf8').slice(0, 200));
    const third = await runStudy(o);
    assert.deepEqual(third.ran, ['full-seed2', 'gt-0.7-seed1']);
    assert.deepEqual(trained.slice(4), ['full-seed2', 'gt-0.7-seed1']);
    assert.ok(!lines.some((l) => l.includes('resumed')), 'a redone run trains from step 1');
    assert.deepEqual(third.skipped, ['full-seed1', 'gt-0.7-seed2']);
    assert.equal(third.redone.length, 1);
    assert.ok(third.redone[0]!.startsWith(`${corrupt}: `), third.redone[0]);
    // The same seed trains the same: the redone run's results are the first one's.
    const redone = JSON.parse(readFileSync(corrupt, 'utf8')) as RunResult;
    assert.equal(redone.validation_loss, original.validation_loss);
    assert.deepEqual(redone.per_example, original.per_example);
    assert.deepEqual(redone.flops, original.flops);

    const whole = JSON.parse(readFileSync(resultFile(o.resultsDir, 'full', 1), 'utf8')) as RunResult;
    // Another configuration (more steps) makes every result stale: none is reused.
    const stale = await runStudy({ ...o, steps: 3, methods: methods.slice(0, 1), seeds: [1] });
    assert.deepEqual(stale.ran, ['full-seed1']);
    assert.match(stale.redone[0]!, /another configuration/);
    // The report takes only what these settings produce: the 3-step run is left out, and named.
    const mixed = currentResults(o);
    assert.deepEqual(mixed.other, ['full-seed1']);
    assert.equal(mixed.current.length, 3);

    // A run stopped after its first step is resumed from its checkpoint, and ends as if never cut.
    const cut: StudyOptions = {
      ...o,
      methods: methods.slice(0, 1),
      seeds: [1],
      resultsDir: join(dir, 'cut'),
      workDir: join(dir, 'cut-work'),
      onRun: (_, run) => {
        const poll = () => (run.step >= 1 ? run.requestStop() : setTimeout(poll, 1));
        poll();
      },
    };
    const stopped = await runStudy(cut);
    assert.match(stopped.failed[0]!, /^full-seed1: .*stopped/);
    lines.length = 0;
    const resumed = await runStudy({ ...cut, onRun: () => {} });
    assert.deepEqual(resumed.ran, ['full-seed1']);
    assert.ok(
      lines.some((l) => /resumed from .*step-00000001/.test(l)),
      lines.join('\n'),
    );
    const [again] = readResults(cut.resultsDir);
    assert.equal(again!.steps, 2);
    assert.equal(again!.validation_loss, whole.validation_loss);
    assert.deepEqual(again!.per_example, whole.per_example);

    // The report is drawn from the files.
    const report = studyReport(readResults(o.resultsDir), ['# toy'], ['full', 'gt-0.7']);
    assert.match(report.markdown, /\| Full FT \| 1, 2 \|/);
    assert.match(report.markdown, /\| GreenTrainer ρ 0\.7 \| 1, 2 \|/);
    assert.match(report.svg, /^<svg/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs with --epochs as train.epochs without max_steps', () => {
    const o = {
      model: 'm',
      data: 'd',
      splits: ['train', 'validation', 'test'] as const,
      seeds: [1],
      epochs: 2,
      test: 2,
      methods: [],
      resultsDir: 'r',
      workDir: 'w',
      backend: 'wasm',
    };
    const j = jobFor(o, allMethods([0.7]).find((m) => m.id === 'abl-keep')!, 3);
    assert.equal(j.train.epochs, 2);
    assert.equal(j.train.max_steps, undefined);
    assert.equal(j.train.seed, 3);
    assert.equal(j.selection.moments, 'keep');
    assert.equal(j.rho, 0.7);
    const interval = jobFor(
      { ...o, epochs: undefined, steps: 5 },
      allMethods([]).find((m) => m.id === 'abl-int25')!,
      1,
    );
    assert.equal(interval.selection.interval_steps, 25);
    assert.equal(interval.train.max_steps, 5);
  });
});

describe('bench/study: result files from any checkout', () => {
  it('records repository paths relative to the root, other paths as given', () => {
    assert.equal(portablePath(join(ROOT, 'demo/model')), 'demo/model');
    assert.equal(portablePath('/srv/models/opt-1.3b', ROOT), '/srv/models/opt-1.3b');
    assert.equal(portablePath(join(ROOT, '..', 'elsewhere'), ROOT), join(ROOT, '..', 'elsewhere'));
    assert.equal(portablePath('/x/repo', '/x/repo'), '/x/repo');
    // The same folder under another checkout's root is the same run.
    assert.equal(portablePath('/clone/demo/data', '/clone'), portablePath(join(ROOT, 'demo/data')));
  });

  // The documented commands (docs/results.md): the small model's study, and the larger model's.
  const studies = [
    { results: 'study-2ep', model: 'demo/model', rhos: [0.5, 0.6, 0.7, 0.9, 0.95] },
    { results: 'study-large', model: 'demo/model-large', rhos: [0.5, 0.6, 0.7, 0.8, 0.9] },
  ];
  for (const study of studies) {
    it(`counts every committed docs/results/${study.results} file as current for its documented command`, () => {
      // --epochs 2 --test 100 (validation 200), --model, --rhos and --results as documented.
      const { current, other } = currentResults({
        model: join(ROOT, study.model),
        data: join(ROOT, 'demo/data'),
        splits: ['train', 'validation', 'test'],
        seeds: [1, 2, 3],
        epochs: 2,
        test: 100,
        validation: 200,
        methods: allMethods(study.rhos),
        resultsDir: join(ROOT, 'docs/results', study.results),
        workDir: join(tmpdir(), 'unused'),
        backend: 'none',
      });
      assert.deepEqual(other, [], 'no committed result would be redone');
      assert.ok(current.length > 0);
      assert.equal(current.length, readdirSync(join(ROOT, 'docs/results', study.results)).length);
    });
  }
});

describe('bench/study: statistics', () => {
  it('gives the 95 % t-interval mean ± t₀.₉₇₅,ₙ₋₁·s/√n', () => {
    // 10, 12, 14: mean 12, s = 2, t(2) = 4.303: half-width 4.303·2/√3 = 4.9687.
    const t = tInterval([10, 12, 14]);
    assert.equal(t.mean, 12);
    assert.ok(Math.abs(t.half - (4.303 * 2) / Math.sqrt(3)) < 1e-12, `${t.half}`);
    assert.ok(Number.isNaN(tInterval([5]).half), 'no interval from one seed');
    assert.equal(t975(30), 2.042);
    assert.ok(Math.abs(t975(60) - 2.0003) < 1e-3, `${t975(60)}`);
    assert.ok(Math.abs(t975(1000) - 1.9623) < 1e-3, `${t975(1000)}`);
  });

  it('pairs by (seed, example) and bootstraps a CI that excludes 0 for a real gap and includes it for none', () => {
    const run = (method: string, seed: number, rouge1: number[]): RunResult => ({
      version: 1,
      method,
      label: method,
      kind: method === 'full' ? 'full' : 'greentrainer',
      ablation: false,
      seed,
      job: {},
      task: 'summarization',
      steps: 2,
      metrics: { rouge1: rouge1.reduce((a, b) => a + b, 0) / rouge1.length },
      per_example: { rouge1 },
      validation_loss: 1,
      flops: { training: method === 'full' ? 10e12 : 6e12, selection: 1e12, full: 10e12, saved_net: 0 },
      executed_flops: null,
      seconds: 1,
      eval_seconds: 1,
      backend: 'wasm',
      date: '2026-12-01',
    });
    // Examples vary a lot (10…40), so unpaired CIs would overlap; the paired gap is 1 ± 0.5.
    const base = [10, 20, 30, 40, 15, 25, 35, 12, 22, 32];
    const full = [
      run('full', 1, base),
      run(
        'full',
        2,
        base.map((x) => x + 3),
      ),
    ];
    const gap = (seed: number, k: number) =>
      base.map((x, i) => x + (seed === 2 ? 3 : 0) - 1 + (i % 2 ? 0.5 : -0.5) * k);
    const worse = [run('gt-a', 1, gap(1, 1)), run('gt-a', 2, gap(2, 1))];
    const diffs = pairedDifferences(worse, full, 'rouge1')!;
    assert.equal(diffs.length, 20, '2 seeds × 10 examples');
    assert.deepEqual(diffs.slice(0, 2), [-1.5, -0.5]);
    const ci = pairedBootstrap(diffs);
    assert.equal(ci.mean, -1);
    assert.ok(ci.hi < 0, `[${ci.lo}, ${ci.hi}] excludes 0`);
    assert.ok(ci.lo > -1.5, `[${ci.lo}, ${ci.hi}]`);
    assert.deepEqual(pairedBootstrap(diffs), ci, 'seeded: the same pairs give the same CI');
    // No gap on average: differences ±2 alternating.
    const even = [
      run(
        'gt-b',
        1,
        base.map((x, i) => x + (i % 2 ? 2 : -2)),
      ),
      run(
        'gt-b',
        2,
        base.map((x, i) => x + 3 + (i % 2 ? -2 : 2)),
      ),
    ];
    const none = pairedBootstrap(pairedDifferences(even, full, 'rouge1')!);
    assert.equal(none.mean, 0);
    assert.ok(none.lo < 0 && none.hi > 0, `[${none.lo}, ${none.hi}] includes 0`);
    // Only seeds both ran are paired.
    assert.equal(pairedDifferences([run('gt-c', 3, base)], full, 'rouge1'), undefined);

    const s = summarise([...full, ...worse, ...even], ['full', 'gt-a', 'gt-b']);
    assert.deepEqual(
      s.map((x) => x.id),
      ['full', 'gt-a', 'gt-b'],
    );
    assert.equal(s[0]!.vsFull, undefined);
    assert.deepEqual(s[1]!.vsFull, ci);
    // Saved net of re-selection against Full FT's training FLOPs: 1 − (6 + 1) / 10.
    assert.ok(Math.abs(s[1]!.savedNet! - 0.3) < 1e-12);
    // Full FT's ROUGE-1 over its 2 seeds: means 24.1 and 27.1, so 25.6 ± t(1)·s/√2 = 12.706·1.5.
    assert.ok(Math.abs(s[0]!.metrics.rouge1!.mean - 25.6) < 1e-9);
    assert.ok(Math.abs(s[0]!.metrics.rouge1!.half - 12.706 * 1.5) < 1e-9);
    const { markdown } = studyReport([...full, ...worse, ...even], ['# toy'], ['full', 'gt-a', 'gt-b']);
    assert.match(markdown, /\| gt-a \| 1, 2 \| 24\.60 ± 19\.06 \|/);
    assert.match(markdown, new RegExp(`\\| -1\\.00 \\[${ci.lo.toFixed(2)}, ${ci.hi.toFixed(2)}\\] \\|`));
    assert.match(markdown, /\| 30\.0 % \|/);
    // Ablations get their own table, under the ρ 0.7 reference run.
    const abl = { ...worse[0]!, method: 'abl-x', label: 'abl-x', ablation: true };
    const ref = { ...full[0]!, method: 'gt-0.7', label: 'GT 0.7', kind: 'greentrainer' };
    const tables = studyReport([full[0]!, ref, abl], [], ['full', 'gt-0.7', 'abl-x']).markdown.split(
      'Ablations',
    );
    assert.equal(tables.length, 2);
    assert.ok(
      !tables[0]!.includes('abl-x') && tables[1]!.includes('| GT 0.7 |') && tables[1]!.includes('| abl-x |'),
    );
  });
});

describe('bench/study: ablations against their reference', () => {
  const run = (method: string, seed: number, loss: number, rouge1: number[], rho = 0.7): RunResult => ({
    version: 1,
    method,
    label: method,
    kind: 'greentrainer',
    ablation: method.startsWith('abl'),
    seed,
    job: { rho },
    task: 'summarization',
    steps: 2,
    metrics: { rouge1: rouge1.reduce((a, b) => a + b, 0) / rouge1.length },
    per_example: { rouge1 },
    validation_loss: loss,
    flops: { training: 6e12, selection: 1e12, full: 10e12, saved_net: 0.3 },
    executed_flops: null,
    seconds: 1,
    eval_seconds: 1,
    backend: 'wasm',
    date: '2026-12-01',
  });
  const ex = [10, 20, 30, 40];
  const ref = [run('gt-0.7', 1, 3.0, ex), run('gt-0.7', 2, 3.1, ex), run('gt-0.7', 3, 3.2, ex)];

  it('pairs validation loss by seed and calls a change lower only when the whole t-interval is below 0', () => {
    // Differences −0.10, −0.08, −0.09: mean −0.09, s = 0.01, half-width t(2)·0.01/√3 = 0.02484.
    const better = [
      run(
        'abl-a',
        1,
        2.9,
        ex.map((x) => x + 1),
      ),
      run(
        'abl-a',
        2,
        3.02,
        ex.map((x) => x + 1),
      ),
      run(
        'abl-a',
        3,
        3.11,
        ex.map((x) => x + 1),
      ),
    ];
    const c = compareAblation(better, ref, 'rouge1')!;
    assert.equal(c.reference, 'gt-0.7');
    assert.deepEqual(c.seeds, [1, 2, 3]);
    assert.ok(Math.abs(c.loss!.mean + 0.09) < 1e-12, `${c.loss!.mean}`);
    assert.ok(Math.abs(c.loss!.half - (4.303 * 0.01) / Math.sqrt(3)) < 1e-9, `${c.loss!.half}`);
    assert.equal(c.loss!.lowerOn, 3);
    assert.equal(c.verdict, 'lower');
    // ROUGE-1 one point higher on every (seed, example): the bootstrap CI is the point itself.
    assert.deepEqual(c.headline, { mean: 1, lo: 1, hi: 1, n: 12 });

    // Lower on two seeds of three, higher on one: the interval straddles 0.
    const mixed = [run('abl-b', 1, 2.9, ex), run('abl-b', 2, 3.12, ex), run('abl-b', 3, 3.19, ex)];
    const m = compareAblation(mixed, ref, 'rouge1')!;
    assert.equal(m.loss!.lowerOn, 2);
    assert.equal(m.verdict, 'unresolved');
    const worse = [run('abl-c', 1, 3.1, ex), run('abl-c', 2, 3.2, ex), run('abl-c', 3, 3.31, ex)];
    assert.equal(compareAblation(worse, ref, 'rouge1')!.verdict, 'higher');
    // One seed: a difference but no interval, and no verdict drawn from it.
    const one = compareAblation([run('abl-d', 2, 3.0, ex)], ref, 'rouge1')!;
    assert.ok(Math.abs(one.loss!.mean + 0.1) < 1e-12);
    assert.equal(one.verdict, 'one seed');
    // Seeds the reference did not run are left out.
    assert.equal(compareAblation([run('abl-e', 4, 3.0, ex)], ref, 'rouge1'), undefined);
  });

  it("finds each ablation's reference by ρ and reports the comparison table", () => {
    const at9 = [run('gt-0.9', 1, 2.5, ex, 0.9), run('gt-0.9', 2, 2.6, ex, 0.9)];
    const abl9 = [run('abl-9', 1, 2.4, ex, 0.9), run('abl-9', 2, 2.45, ex, 0.9)];
    const abl7 = [run('abl-7', 1, 3.05, ex), run('abl-7', 2, 3.05, ex)];
    const s = summarise([...ref, ...at9, ...abl9, ...abl7], ['gt-0.7', 'gt-0.9', 'abl-7', 'abl-9']);
    assert.equal(s.find((x) => x.id === 'abl-9')!.vsReference!.reference, 'gt-0.9');
    assert.equal(s.find((x) => x.id === 'abl-7')!.vsReference!.reference, 'gt-0.7');
    assert.equal(s.find((x) => x.id === 'gt-0.7')!.vsReference, undefined);
    const { markdown } = studyReport(
      [...ref, ...at9, ...abl9, ...abl7],
      [],
      ['gt-0.7', 'gt-0.9', 'abl-7', 'abl-9'],
    );
    // abl-7: +0.05 and −0.05: mean 0, s = 0.0707, half 12.706·0.0707/√2 = 0.6353.
    assert.match(
      markdown,
      /\| abl-7 \| gt-0\.7 \| 1, 2 \| \+0\.0000 ± 0\.6353 \| 1 of 2 \| \+0\.00 \[\+0\.00, \+0\.00\] \| unresolved \|/,
    );
    assert.match(markdown, /\| abl-9 \| gt-0\.9 \| 1, 2 \| −0\.1250 ± /);
  });
});

describe('bench/study: selection churn', () => {
  it('counts the tensors swapped between consecutive selections and the share with the tied embedding', () => {
    const c = churn([
      new Set(['a', 'b', 'model.decoder.embed_tokens.weight']),
      new Set(['a', 'c']),
      new Set(['a', 'c']),
      new Set(['shared.weight', 'c']),
    ]);
    // 1→2: b and embed_tokens out, c in (3); 2→3: none; 3→4: a out, shared in (2).
    assert.deepEqual(c, { count: 4, mean_swapped: 5 / 3, with_embedding: 0.5 });
  });
});
