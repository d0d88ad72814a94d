/**
 * The paper's comparison (its Table 2 and Table 4) on the demo model and data: Full FT, FT-Top2,
 * LoRA, GreenTrainer at ρ 0.4–0.7, and the importance-metric ablation at ρ 0.7 — same seed, same
 * steps, same evaluation (beam search on the test split, ROUGE as rouge-score). Writes
 * docs/results.md (a Markdown table) and docs/results.svg (ROUGE-1 against FLOPs).
 *
 *   npm run experiment -- [--steps 400] [--test 100] [--only full,gt-0.5]
 *   npm run experiment -- --model path/to/flan-t5 --data path/to/webquestions --preset webquestions \
 *     --rhos 0.34,0.4,0.5 --results results-flan-t5-webquestions
 *   npm run experiment -- --model ... --data path/to/piqa --preset piqa --splits train,valid,valid
 *
 * Any model folder (decoder-only or T5) and dataset folder; a preset picks the task, its prompt and
 * its metric (ROUGE for summaries, exact match and F1 for WebQuestions, accuracy for PIQA).
 * Runs on the active backend (GREENTRAINER_BACKEND to choose; the native one is several times
 * faster). Executed FLOPs: the FLOPs model's total × the executed/modeled ratio of the audited
 * steps (the step after each selection is profiled kernel by kernel).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { backendFromEnv } from '../src/config/env.js';
import { loadModel } from '../src/models/checkpoint.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import type { Task } from '../src/train/data.js';
import { encodeOptions, type Job, JobConfig } from '../src/train/job.js';
import { encodeFor } from '../src/train/lm-batch.js';
import { type PresetName, presetNames } from '../src/train/presets.js';
import { TrainingRun } from '../src/train/run.js';
import { evaluateModel } from '../src/train/run-evaluation.js';
import type { EvaluationReport, StepEvent } from '../src/train/run-events.js';
import { loadSplits } from '../src/train/splits.js';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '400' },
    test: { type: 'string', default: '100' },
    only: { type: 'string' },
    model: { type: 'string', default: join(ROOT, 'demo/model') },
    data: { type: 'string', default: join(ROOT, 'demo/data') },
    preset: { type: 'string' },
    rhos: { type: 'string', default: '0.4,0.5,0.6,0.7' },
    results: { type: 'string', default: 'results' },
    /** File names of the train, validation and test splits in --data (PIQA: train,valid,valid). */
    splits: { type: 'string', default: 'train,validation,test' },
  },
});
const [trainSplit, validationSplit, testSplit] = values.splits.split(',');
if (!trainSplit || !validationSplit || !testSplit)
  throw new Error(`--splits ${values.splits}: expected three file names, train,validation,test`);
if (values.preset !== undefined && !presetNames.includes(values.preset as PresetName))
  throw new Error(`--preset ${values.preset}: expected one of ${presetNames.join(', ')}`);
const preset = values.preset as PresetName | undefined;

interface Config {
  readonly id: string;
  readonly label: string;
  readonly method: Job['method'];
  readonly rho?: number;
  readonly importance?: 'delta_gradient' | 'delta' | 'gradient';
}

const CONFIGS: Config[] = [
  { id: 'full', label: 'Full FT', method: 'full' },
  { id: 'top2', label: 'FT-Top2', method: 'top2' },
  { id: 'prefix', label: 'Prefix-T (p 10)', method: 'prefix' },
  { id: 'lora', label: 'LoRA (r 8, W_Q W_V)', method: 'lora' },
  ...values.rhos
    .split(',')
    .map(Number)
    .map((rho): Config => ({ id: `gt-${rho}`, label: `GreenTrainer ρ ${rho}`, method: 'greentrainer', rho })),
  {
    id: 'abl-delta',
    label: 'ρ 0.7, importance Σ|Δw|',
    method: 'greentrainer',
    rho: 0.7,
    importance: 'delta',
  },
  {
    id: 'abl-grad',
    label: 'ρ 0.7, importance Σ|∂L/∂w|',
    method: 'greentrainer',
    rho: 0.7,
    importance: 'gradient',
  },
];

const forced = backendFromEnv();
const backend = await initBackend(forced ? { backend: forced } : {});
const steps = Number(values.steps);
const testSamples = Number(values.test);
const only = values.only?.split(',');

function job(c: Config): Job {
  return JobConfig.parse({
    name: c.id,
    model: values.model,
    dataset: {
      path: values.data,
      ...(preset ? { preset } : {}),
      splits: { train: trainSplit, validation: validationSplit, test: testSplit },
    },
    method: c.method,
    rho: c.rho ?? 1,
    train: {
      epochs: 1,
      max_steps: steps,
      batch_size: 4,
      lr: 5e-4,
      warmup_steps: 20,
      max_input_length: 160,
      max_output_length: 24,
      seed: 1,
    },
    selection: { interval_steps: 100, importance: c.importance ?? 'delta_gradient' },
    checkpoint: { every_steps: 1_000_000, keep: 1 },
    eval: { beams: 4, max_new_tokens: 24, samples: testSamples, validation_samples: 200 },
    output: join(ROOT, 'demo/.work/experiment', values.results, c.id),
  });
}

interface Row {
  readonly config: Config;
  readonly test?: EvaluationReport;
  readonly valLoss?: number;
  readonly flops?: number;
  /** Modeled FLOPs of re-selection's importance passes. */
  readonly selection?: number;
  readonly executed?: number;
  readonly seconds?: number;
  readonly note?: string;
}

const rows: Row[] = [];
let task: Task = 'summarization';
{
  // The model before fine-tuning.
  const j = job(CONFIGS[0]!);
  const model = loadModel(j.model);
  const tok = TextTokenizer.load(j.model);
  const splits = loadSplits(j.dataset);
  task = splits.task;
  const enc = encodeOptions(j, tok.eosId!, splits.task, model.spec.encoderDecoder);
  const reports = (await evaluateModel(
    model,
    tok,
    j,
    splits,
    splits.validation.map((e) => encodeFor(model, e, tok, enc)),
  ))!;
  model.dispose();
  rows.push({
    config: { id: 'base', label: 'no fine-tuning', method: 'full' },
    test: reports.find((r) => r.split === 'test'),
    valLoss: reports.find((r) => r.split === 'validation')?.loss,
  });
  console.log(`base: ${JSON.stringify(rows[0])}`);
}

for (const c of CONFIGS.filter((x) => !only || only.includes(x.id))) {
  const j = job(c);
  rmSync(j.output, { recursive: true, force: true });
  const audits: number[] = [];
  let stepFlops = 0;
  try {
    const run = TrainingRun.open(j, {
      backend: backend.name,
      emit: (e) => {
        if (e.type === 'step') {
          const s = e as StepEvent;
          if (s.executedFlops !== undefined) audits.push(s.executedFlops / s.flops);
          stepFlops = s.flops;
          if (s.step % 100 === 0)
            process.stderr.write(`  ${c.id}: step ${s.step} loss ${s.loss.toFixed(3)}\n`);
        }
      },
    });
    const t0 = performance.now();
    const report = await run.run();
    const after = report.evaluation.after ?? [];
    const ratio = audits.length > 0 ? audits.reduce((a, b) => a + b, 0) / audits.length : Number.NaN;
    rows.push({
      config: c,
      test: after.find((r) => r.split === 'test'),
      valLoss: after.find((r) => r.split === 'validation')?.loss,
      flops: report.flops.training,
      selection: report.flops.selection,
      executed: report.flops.training * ratio,
      seconds: report.train_seconds,
    });
    console.log(
      `${c.id}: ${JSON.stringify(rows.at(-1))} (${((performance.now() - t0) / 1000).toFixed(0)} s with evaluation; last step ${stepFlops})`,
    );
  } catch (error) {
    rows.push({ config: c, note: (error as Error).message.split('\n')[0] });
    console.log(`${c.id}: ${rows.at(-1)!.note}`);
  }
}

const full = rows.find((r) => r.config.id === 'full');
const pct = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));
/** FLOPs saved against Full FT of the same steps, net of re-selection. */
const reduction = (r: Row) =>
  r.flops !== undefined && full?.flops
    ? `${((1 - (r.flops + (r.selection ?? 0)) / full.flops) * 100).toFixed(1)} %`
    : '–';
const tf = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : (x / 1e12).toFixed(2));
/** The task's metric columns: names, and values of a test report; the first is the chart's. */
const METRICS: Record<Task, { names: string[]; of: (r?: EvaluationReport) => Array<number | undefined> }> = {
  summarization: {
    names: ['ROUGE-1', 'ROUGE-2', 'ROUGE-L', 'ROUGE-Lsum'],
    of: (r) => [r?.rouge?.rouge1, r?.rouge?.rouge2, r?.rouge?.rougeL, r?.rouge?.rougeLsum],
  },
  qa: { names: ['F1', 'exact match'], of: (r) => [r?.qa?.f1, r?.qa?.exact_match] },
  choice: { names: ['accuracy'], of: (r) => [r?.accuracy] },
};
const metric = METRICS[task];
const lines = [
  `| method | ${metric.names.join(' | ')} | val. loss | FLOPs (TFLOP, modeled) | re-selection (TFLOP) | executed (TFLOP) | FLOPs saved, net of re-selection | train time (s) |`,
  `| --- | ${metric.names.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- | --- |`,
  ...rows.map(
    (r) =>
      `| ${r.config.label.replace(/\|/g, '\\|')}${r.note ? ` (not run: ${r.note.replace(/\|/g, '\\|')})` : ''} | ${metric
        .of(r.test)
        .map(pct)
        .join(' | ')} | ${
        r.valLoss?.toFixed(3) ?? '–'
      } | ${tf(r.flops)} | ${r.selection !== undefined ? (r.selection / 1e12).toFixed(3) : '–'} | ${tf(r.executed)} | ${reduction(r)} | ${r.seconds?.toFixed(0) ?? '–'} |`,
  ),
];
const demo = values.model === join(ROOT, 'demo/model') && values.data === join(ROOT, 'demo/data');
const header = [
  `# Results: the paper’s comparison on ${demo ? 'the demo model' : values.model}`,
  '',
  `Command: \`npm run experiment -- ${process.argv.slice(2).join(' ')}\`, backend ${backend.name}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${new Date().toISOString().slice(0, 10)}.`,
  `Every run: ${demo ? 'demo/model (OPT, 4 layers, d 128, vocab 4096), demo/data' : `${values.model}, ${values.data}${preset ? ` (${preset})` : ''}`}, ${steps} steps of batch 4 (seed 1), AdamW lr 5e-4 with 20 warm-up steps, re-selection every 100 steps; ${metric.names[0]} on the first ${testSamples} test examples${task === 'choice' ? '' : ', beam 4'}.`,
  '',
];
mkdirSync(join(ROOT, 'docs'), { recursive: true });
writeFileSync(join(ROOT, `docs/${values.results}.md`), `${[...header, ...lines, ''].join('\n')}`);
writeFileSync(
  join(ROOT, `docs/${values.results}.svg`),
  chart(rows.filter((r) => r.flops !== undefined && metric.of(r.test)[0] !== undefined)),
);
console.log(lines.join('\n'));

/** The headline metric (ROUGE-1, F1 or accuracy) against FLOPs, one labelled point per method. */
function chart(points: Row[]): string {
  const score = (p: Row) => metric.of(p.test)[0]!;
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 20, t: 20, b: 50 };
  const maxF = Math.max(...points.map((p) => p.flops!)) * 1.05;
  const ys = points.map(score);
  const minY = Math.floor(Math.min(...ys) - 1);
  const maxY = Math.ceil(Math.max(...ys) + 1);
  const x = (f: number) => m.l + (f / maxF) * (W - m.l - m.r);
  const y = (r: number) => H - m.b - ((r - minY) / (maxY - minY)) * (H - m.t - m.b);
  const dots = points
    .map(
      (p) =>
        `<circle cx="${x(p.flops!).toFixed(1)}" cy="${y(score(p)).toFixed(1)}" r="4" fill="${p.config.method === 'greentrainer' ? '#2a9d4b' : '#555'}"/>` +
        `<text x="${(x(p.flops!) + 6).toFixed(1)}" y="${(y(score(p)) - 6).toFixed(1)}" font-size="11">${p.config.label}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" role="img"><title>${metric.names[0]} against training FLOPs</title>
<rect width="100%" height="100%" fill="white"/>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">training FLOPs (TFLOP, modeled)</text>
<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle" font-size="12">${metric.names[0]} (test)</text>
<text x="${m.l - 6}" y="${y(maxY)}" text-anchor="end" font-size="10">${maxY}</text><text x="${m.l - 6}" y="${y(minY)}" text-anchor="end" font-size="10">${minY}</text>
<text x="${W - m.r}" y="${H - m.b + 14}" text-anchor="end" font-size="10">${(maxF / 1e12).toFixed(1)}</text><text x="${m.l}" y="${H - m.b + 14}" font-size="10">0</text>
${dots}
</svg>
`;
}
