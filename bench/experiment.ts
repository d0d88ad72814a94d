/**
 * The study: the paper's comparison (its Table 2 and Table 4) on the demo model and data — Full
 * FT, FT-Top2, prefix tuning, LoRA, GreenTrainer at each ρ, and the ablations of issue 19 at ρ 0.7
 * (importance metric Σ|Δw| and Σ|∂L/∂w|; first-step Δw for every tensor; leaving tensors keep
 * their moments; re-selection every 25 / 400 steps against GreenTrainer ρ 0.7's 100) — over seeds, with the same evaluation
 * (beam 4 on the test split, ROUGE as rouge-score; validation loss by teacher forcing).
 *
 *   npm run experiment -- [--seeds 1,2,3] [--steps 400 | --epochs 2] [--test 100] [--only full,gt-0.7]
 *   npm run experiment -- --model path/to/flan-t5 --data path/to/webquestions --preset webquestions \
 *     --rhos 0.34,0.4,0.5 --results results-flan-t5-webquestions
 *   npm run experiment -- --model ... --data path/to/piqa --preset piqa --splits train,valid,valid
 *   npm run experiment -- --report-only        # the report from the result files alone
 *
 * One JSON result per (method, seed) in docs/results/<results>/ (bench/study.ts says what it
 * holds); finished runs are skipped, so an interrupted study continues where it stopped (a run
 * cut short resumes from its checkpoints in demo/.work/experiment/<results>/). The report,
 * docs/<results>.md and docs/<results>.svg, is drawn from every result file there: per method the
 * mean ± 95 % t-interval over seeds, and the paired bootstrap 95 % CI of the headline metric's
 * difference to Full FT (paired by seed and test example). Runs on the active backend
 * (GREENTRAINER_BACKEND to choose; the native one is several times faster). Executed FLOPs: the
 * FLOPs model's total × the executed/modeled ratio of the audited steps.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { backendFromEnv } from '../src/config/env.js';
import { type PresetName, presetNames } from '../src/train/presets.js';
import {
  allMethods,
  currentResults,
  INTERVAL,
  portablePath,
  runStudy,
  type StudyOptions,
  studyReport,
} from './study.js';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1' },
    steps: { type: 'string', default: '400' },
    /** Whole epochs instead of --steps. */
    epochs: { type: 'string' },
    test: { type: 'string', default: '100' },
    validation: { type: 'string', default: '200' },
    only: { type: 'string' },
    model: { type: 'string', default: join(ROOT, 'demo/model') },
    data: { type: 'string', default: join(ROOT, 'demo/data') },
    preset: { type: 'string' },
    rhos: { type: 'string', default: '0.4,0.5,0.6,0.7' },
    results: { type: 'string', default: 'results' },
    /** File names of the train, validation and test splits in --data (PIQA: train,valid,valid). */
    splits: { type: 'string', default: 'train,validation,test' },
    'report-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  const ids = allMethods([0.7])
    .map((m) => m.id)
    .join(', ');
  console.log(`npm run experiment -- [options]: the study (bench/study.ts); one JSON result per (method, seed)
  --seeds 1,2,3        seeds to run (default 1)
  --steps N | --epochs N   steps per run (default 400), or whole epochs
  --test N             test examples generated with beam 4 (default 100)
  --validation N       validation examples for the validation loss (default 200)
  --rhos 0.5,0.7       GreenTrainer's ρ values (default 0.4,0.5,0.6,0.7)
  --only ID,ID         methods to run: ${ids} (gt-ρ per --rhos)
  --model DIR --data DIR [--preset NAME] [--splits train,validation,test]
  --results NAME       docs/results/NAME/ for the result files, docs/NAME.md for the report (default results)
  --report-only        the report from the result files alone
Finished runs are skipped; the backend is GREENTRAINER_BACKEND's, else the best available.`);
  process.exit(0);
}
const [trainSplit, validationSplit, testSplit] = values.splits.split(',');
if (!trainSplit || !validationSplit || !testSplit)
  throw new Error(`--splits ${values.splits}: expected three file names, train,validation,test`);
if (values.preset !== undefined && !presetNames.includes(values.preset as PresetName))
  throw new Error(`--preset ${values.preset}: expected one of ${presetNames.join(', ')}`);
const count = (flag: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} ${text}: expected a whole number`);
  return n;
};
const seeds = values.seeds.split(',').map((s) => count('seeds', s));
const rhos = values.rhos.split(',').map((r) => {
  const x = Number(r);
  if (!(x > 0 && x <= 1)) throw new Error(`--rhos ${values.rhos}: each ρ must be in (0, 1]`);
  return x;
});
const methods = allMethods(rhos);
const only = values.only?.split(',');
const unknown = only?.filter((id) => !methods.some((m) => m.id === id)) ?? [];
if (unknown.length > 0)
  throw new Error(`--only ${unknown.join(',')}: unknown; methods are ${methods.map((m) => m.id).join(', ')}`);

const resultsDir = join(ROOT, 'docs/results', values.results);
const epochs = values.epochs !== undefined ? count('epochs', values.epochs) : undefined;
const steps = count('steps', values.steps);
const study: StudyOptions = {
  model: values.model,
  data: values.data,
  ...(values.preset ? { preset: values.preset as PresetName } : {}),
  splits: [trainSplit, validationSplit, testSplit],
  seeds,
  ...(epochs !== undefined ? { epochs } : { steps }),
  test: count('test', values.test),
  validation: count('validation', values.validation),
  methods: methods.filter((m) => !only || only.includes(m.id)),
  resultsDir,
  workDir: join(ROOT, 'demo/.work/experiment', values.results),
  backend: 'none',
};
if (!values['report-only']) {
  const forced = backendFromEnv();
  const backend = (await initBackend(forced ? { backend: forced } : {})).name;
  const outcome = await runStudy({ ...study, backend });
  console.log(
    `ran ${outcome.ran.length}, skipped ${outcome.skipped.length} finished, redid ${outcome.redone.length}, failed ${outcome.failed.length}`,
  );
  for (const line of [...outcome.redone, ...outcome.failed]) console.log(`  ${line}`);
}

// The report: every result these settings would produce, whichever methods this call ran.
const { current: results, other } = currentResults({ ...study, methods });
if (other.length > 0) console.log(`left out of the report (other settings or methods): ${other.join(', ')}`);
if (results.length === 0) throw new Error(`${resultsDir}: no result files to report`);
const demo = values.model === join(ROOT, 'demo/model') && values.data === join(ROOT, 'demo/data');
/** A model folder as the report names it: its path (relative inside the repository) and its shape. */
function describeModel(dir: string): string {
  const at = portablePath(dir);
  try {
    const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const layers = c.num_hidden_layers ?? c.num_layers;
    const width = c.hidden_size ?? c.d_model;
    return `${at} (${String(c.model_type).toUpperCase()}, ${layers} layers, d ${width}, vocab ${c.vocab_size})`;
  } catch {
    return at;
  }
}
const header = [
  `# Results: the paper’s comparison on ${demo ? 'the demo model' : portablePath(values.model)}`,
  '',
  `Command: \`npm run experiment -- ${process.argv.slice(2).join(' ')}\`, backend ${[...new Set(results.map((r) => r.backend))].join(', ')}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${new Date().toISOString().slice(0, 10)}; result files in docs/results/${values.results}/.`,
  `Every run: ${describeModel(values.model)}, ${portablePath(values.data)}${values.preset ? ` (${values.preset})` : ''}, ${epochs !== undefined ? `${epochs} epochs` : `${steps} steps`} of batch 4, AdamW lr 5e-4 with 20 warm-up steps, re-selection every ${INTERVAL} steps (unless an ablation says otherwise); the test metric on the first ${values.test} test examples (beam 4), validation loss on the first ${values.validation} validation examples.`,
  '',
];
const report = studyReport(
  results,
  header,
  methods.map((m) => m.id),
);
mkdirSync(join(ROOT, 'docs'), { recursive: true });
writeFileSync(join(ROOT, `docs/${values.results}.md`), report.markdown);
writeFileSync(join(ROOT, `docs/${values.results}.svg`), report.svg);
console.log(report.markdown);
