/**
 * The study runner behind `npm run experiment` (bench/experiment.ts is its command line): the run
 * plan (methods × seeds), one JSON result per run written atomically, resuming a half-finished
 * study, and the report (mean ± 95 % t-interval over seeds, paired bootstrap CIs of the headline
 * metric's difference to Full FT, FLOPs saved net of re-selection) with its chart.
 *
 * A result file `<results>/<method>-seed<n>.json` is the whole record of one run: the job it ran
 * (everything but its output folder), the test set's metric per example (for pairing), the means,
 * validation loss, FLOPs, time, backend and date. A run whose file exists and holds the same job is
 * skipped; a file that does not parse or whose job differs is named and the run redone. A run cut
 * short resumes from its own checkpoints (its folder keeps `study-job.json`, the job it ran).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadModel } from '../src/models/checkpoint.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import { mulberry32, type Task } from '../src/train/data.js';
import { encodeOptions, type Job, JobConfig } from '../src/train/job.js';
import { encodeFor } from '../src/train/lm-batch.js';
import type { PresetName } from '../src/train/presets.js';
import { TrainingRun } from '../src/train/run.js';
import { evaluateModel } from '../src/train/run-evaluation.js';
import type { EvaluationReport, StepEvent } from '../src/train/run-events.js';
import { loadSplits } from '../src/train/splits.js';

/** One arm of the study: a method and the options that set it apart. */
export interface Method {
  readonly id: string;
  readonly label: string;
  readonly method: Job['method'] | 'base';
  readonly rho?: number;
  readonly importance?: Job['selection']['importance'];
  readonly moments?: Job['selection']['moments'];
  readonly interval?: number;
  /** An ablation of GreenTrainer's design (reported in its own group). */
  readonly ablation?: boolean;
}

/** Re-selection interval of every GreenTrainer run but the interval ablation's. */
export const INTERVAL = 100;
/** ρ of the ablations (the issue's: GT ρ 0.7 against Full FT). */
export const ABLATION_RHO = 0.7;

/** Every method, in report order: the model before fine-tuning, the baselines, GT at each ρ, the ablations. */
export function allMethods(rhos: readonly number[]): Method[] {
  const r = ABLATION_RHO;
  const ablation = (m: Omit<Method, 'method' | 'rho' | 'ablation'>): Method => ({
    ...m,
    method: 'greentrainer',
    rho: r,
    ablation: true,
  });
  return [
    { id: 'base', label: 'no fine-tuning', method: 'base' },
    { id: 'full', label: 'Full FT', method: 'full' },
    { id: 'top2', label: 'FT-Top2', method: 'top2' },
    { id: 'prefix', label: 'Prefix-T (p 10)', method: 'prefix' },
    { id: 'lora', label: 'LoRA (r 8, W_Q W_V)', method: 'lora' },
    ...rhos.map(
      (rho): Method => ({ id: `gt-${rho}`, label: `GreenTrainer ρ ${rho}`, method: 'greentrainer', rho }),
    ),
    ablation({ id: 'abl-delta', label: `ρ ${r}, importance Σ|Δw|`, importance: 'delta' }),
    ablation({ id: 'abl-grad', label: `ρ ${r}, importance Σ|∂L/∂w|`, importance: 'gradient' }),
    ablation({ id: 'abl-fresh', label: `ρ ${r}, first-step Δw for every tensor`, moments: 'fresh' }),
    ablation({ id: 'abl-keep', label: `ρ ${r}, leaving tensors keep their moments`, moments: 'keep' }),
    // Every 100 steps is GreenTrainer ρ 0.7 itself.
    ...[25, 400].map((interval) =>
      ablation({ id: `abl-int${interval}`, label: `ρ ${r}, re-selection every ${interval} steps`, interval }),
    ),
    // Where the selection alternates, every other re-selection trades the tied embedding for other
    // tensors, which then restart their moments: at ρ 0.9 on demo/model (about ten tensors), at
    // ρ 0.8 on demo/model-large (about 55).
    ...[0.8, 0.9].map(
      (rho): Method => ({
        ...ablation({
          id: `abl-keep-${rho}`,
          label: `ρ ${rho}, leaving tensors keep their moments`,
          moments: 'keep',
        }),
        rho,
      }),
    ),
    {
      ...ablation({ id: 'abl-fresh-0.9', label: 'ρ 0.9, first-step Δw for every tensor', moments: 'fresh' }),
      rho: 0.9,
    },
  ];
}

export interface StudyOptions {
  readonly model: string;
  readonly data: string;
  readonly preset?: PresetName;
  /** File names of the train, validation and test splits. */
  readonly splits: readonly [string, string, string];
  readonly seeds: readonly number[];
  /** Optimizer steps per run (`train.max_steps`), or whole epochs (`train.epochs`) when `epochs` is set. */
  readonly steps?: number;
  readonly epochs?: number;
  /** Test examples to generate for. */
  readonly test: number;
  /** Validation examples for the validation loss (default 200). */
  readonly validation?: number;
  readonly methods: readonly Method[];
  /** Folder of the result files. */
  readonly resultsDir: string;
  /** Folder of the runs' own folders (checkpoints, the fine-tuned model). */
  readonly workDir: string;
  readonly backend: string;
  /** Test generation's new tokens (default 24). */
  readonly maxNewTokens?: number;
  readonly log?: (line: string) => void;
  /** Told of each training run as it opens (tests count runs, or stop one). */
  readonly onRun?: (key: string, run: TrainingRun) => void;
}

/** The job of one run (its output inside `workDir`). */
export function jobFor(o: StudyOptions, m: Method, seed: number): Job {
  return JobConfig.parse({
    name: m.id,
    model: o.model,
    dataset: {
      path: o.data,
      ...(o.preset ? { preset: o.preset } : {}),
      splits: { train: o.splits[0], validation: o.splits[1], test: o.splits[2] },
    },
    method: m.method === 'base' ? 'full' : m.method,
    rho: m.rho ?? 1,
    train: {
      epochs: o.epochs ?? 1,
      ...(o.epochs === undefined ? { max_steps: o.steps ?? 400 } : {}),
      batch_size: 4,
      lr: 5e-4,
      warmup_steps: 20,
      max_input_length: 160,
      max_output_length: 24,
      seed,
    },
    selection: {
      interval_steps: m.interval ?? INTERVAL,
      importance: m.importance ?? 'delta_gradient',
      moments: m.moments ?? 'current',
    },
    checkpoint: { every_steps: 100, keep: 1 },
    eval: {
      beams: 4,
      max_new_tokens: o.maxNewTokens ?? 24,
      samples: o.test,
      validation_samples: o.validation ?? 200,
    },
    output: join(o.workDir, `${m.id}-seed${seed}`),
  });
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * A path inside this repository relative to its root, so a result file is the same run from any
 * checkout (a fresh clone elsewhere resumes the study instead of redoing it); other paths as given.
 */
export function portablePath(path: string, root = ROOT): string {
  const r = relative(root, resolve(path));
  return r === '' || r.startsWith('..') || isAbsolute(r) ? path : r;
}

/** What identifies a run's configuration: its job without the output folder, repository paths relative. */
function identity(job: Job): Omit<Job, 'output'> {
  const { output: _, ...rest } = job;
  return {
    ...rest,
    model: portablePath(rest.model),
    dataset: { ...rest.dataset, path: portablePath(rest.dataset.path) },
  };
}

const Result = z.object({
  version: z.literal(1),
  method: z.string(),
  label: z.string(),
  kind: z.string(),
  ablation: z.boolean(),
  seed: z.number().int(),
  job: z.record(z.string(), z.unknown()),
  task: z.enum(['summarization', 'qa', 'choice']),
  steps: z.number().int().nonnegative(),
  /** Mean test metrics (percent), by name. */
  metrics: z.record(z.string(), z.number()),
  /** The same metrics per test example, in test order. */
  per_example: z.record(z.string(), z.array(z.number())),
  validation_loss: z.number().nullable(),
  flops: z.object({
    training: z.number(),
    selection: z.number(),
    full: z.number(),
    /** (full − training − selection) ÷ full. */
    saved_net: z.number(),
  }),
  /** Training FLOPs × the executed/modeled ratio of the audited steps (null when none was audited). */
  executed_flops: z.number().nullable(),
  /**
   * The run's re-selections: how many, the mean number of tensors each swapped in or out against
   * the one before, and the share that trained the tied embedding / output layer (`embed_tokens`
   * or `shared`). Absent in results written before it was recorded.
   */
  selections: z
    .object({ count: z.number().int(), mean_swapped: z.number(), with_embedding: z.number() })
    .optional(),
  /** Training time (s), and the evaluation's (validation loss and test generation). */
  seconds: z.number(),
  eval_seconds: z.number(),
  backend: z.string(),
  date: z.string(),
});
export type RunResult = z.infer<typeof Result>;

export function resultFile(dir: string, method: string, seed: number): string {
  return join(dir, `${method}-seed${seed}.json`);
}

/** A result file's state: usable for this job, absent, or to redo (with the reason). */
export type ResultState =
  | { readonly state: 'done'; readonly result: RunResult }
  | { readonly state: 'missing' }
  | { readonly state: 'corrupt' | 'stale'; readonly reason: string };

export function readResult(file: string, job: Job): ResultState {
  if (!existsSync(file)) return { state: 'missing' };
  let parsed: RunResult;
  try {
    const r = Result.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!r.success) {
      const issue = r.error.issues[0]!;
      return { state: 'corrupt', reason: `${issue.path.join('.') || 'the file'}: ${issue.message}` };
    }
    parsed = r.data;
  } catch (error) {
    return { state: 'corrupt', reason: (error as Error).message };
  }
  if (JSON.stringify(parsed.job) !== JSON.stringify(identity(job)))
    return { state: 'stale', reason: 'it ran another configuration' };
  return { state: 'done', result: parsed };
}

/** Writes `data` as JSON to `file` under a temporary name, then renames it into place. */
export function writeJsonAtomic(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 1)}\n`);
  renameSync(tmp, file);
}

export interface StudyOutcome {
  /** `<method>-seed<n>` of the runs trained (or evaluated) now, in order. */
  readonly ran: string[];
  readonly skipped: string[];
  /** Result files that did not parse or ran another configuration, with why (each was redone). */
  readonly redone: string[];
  readonly failed: string[];
}

/** Runs every (method, seed) without a usable result file; the base model once (seed-independent). */
export async function runStudy(o: StudyOptions): Promise<StudyOutcome> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(o.resultsDir, { recursive: true });
  const out: StudyOutcome = { ran: [], skipped: [], redone: [], failed: [] };
  for (const m of o.methods) {
    for (const seed of m.method === 'base' ? o.seeds.slice(0, 1) : o.seeds) {
      const job = jobFor(o, m, seed);
      const file = resultFile(o.resultsDir, m.id, seed);
      const key = `${m.id}-seed${seed}`;
      const state = readResult(file, job);
      if (state.state === 'done') {
        out.skipped.push(key);
        continue;
      }
      if (state.state !== 'missing') {
        out.redone.push(`${file}: ${state.reason}`);
        log(`${file}: ${state.state} (${state.reason}); running ${key} again`);
      }
      log(`${key}: running`);
      try {
        const result = m.method === 'base' ? await evaluateBase(job, m, o) : await train(job, m, o, log);
        writeJsonAtomic(file, result);
        out.ran.push(key);
        log(`${key}: ${JSON.stringify(result.metrics)}, val. loss ${result.validation_loss?.toFixed(3)}`);
      } catch (error) {
        out.failed.push(`${key}: ${(error as Error).message.split('\n')[0]}`);
        log(`${key}: failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  return out;
}

function resultOf(
  job: Job,
  m: Method,
  task: Task,
  after: readonly EvaluationReport[],
  rest: Pick<RunResult, 'steps' | 'flops' | 'executed_flops' | 'selections' | 'seconds' | 'backend'>,
): RunResult {
  const test = after.find((r) => r.split === 'test');
  if (!test?.per_example) throw new Error(`${m.id}: the evaluation reported no test metrics per example`);
  const metrics = Object.fromEntries(
    Object.entries(test.per_example).map(([k, xs]) => [k, xs.reduce((a, b) => a + b, 0) / xs.length]),
  );
  return {
    version: 1,
    method: m.id,
    label: m.label,
    kind: m.method,
    ablation: m.ablation ?? false,
    seed: job.train.seed,
    job: identity(job) as unknown as Record<string, unknown>,
    task,
    metrics,
    per_example: test.per_example as Record<string, number[]>,
    validation_loss: after.find((r) => r.split === 'validation')?.loss ?? null,
    eval_seconds: after.reduce((a, r) => a + r.seconds, 0),
    ...rest,
    date: new Date().toISOString(),
  };
}

async function evaluateBase(job: Job, m: Method, o: StudyOptions): Promise<RunResult> {
  const model = loadModel(job.model);
  try {
    const tok = TextTokenizer.load(job.model);
    const splits = loadSplits(job.dataset);
    const enc = encodeOptions(job, tok.eosId!, splits.task, model.spec.encoderDecoder);
    const t0 = performance.now();
    const reports = await evaluateModel(
      model,
      tok,
      job,
      splits,
      splits.validation.map((e) => encodeFor(model, e, tok, enc)),
      undefined,
      () => false,
      true,
    );
    return resultOf(job, m, splits.task, reports!, {
      steps: 0,
      flops: { training: 0, selection: 0, full: 0, saved_net: 0 },
      executed_flops: null,
      seconds: (performance.now() - t0) / 1000,
      backend: o.backend,
    });
  } finally {
    model.dispose();
  }
}

async function train(job: Job, m: Method, o: StudyOptions, log: (line: string) => void): Promise<RunResult> {
  // A run cut short resumes from its checkpoints if it ran this very job. A finished one (its
  // result deleted or corrupt: to be redone) or one of another job starts afresh.
  const marker = join(job.output, 'study-job.json');
  const same =
    existsSync(marker) &&
    readFileSync(marker, 'utf8') === JSON.stringify(identity(job)) &&
    !existsSync(join(job.output, 'report.json'));
  if (!same) rmSync(job.output, { recursive: true, force: true });
  mkdirSync(job.output, { recursive: true });
  writeFileSync(marker, JSON.stringify(identity(job)));
  const audits: number[] = [];
  const selected: Array<ReadonlySet<string>> = [];
  let task: Task = 'summarization';
  const run = TrainingRun.open(job, {
    backend: o.backend,
    resume: true,
    perExample: true,
    emit: (e) => {
      if (e.type === 'start' && e.resumedFrom) log(`  ${m.id}: resumed from ${e.resumedFrom}`);
      if (e.type === 'selection') selected.push(new Set(e.selected));
      if (e.type !== 'step') return;
      const s = e as StepEvent;
      if (s.executedFlops !== undefined) audits.push(s.executedFlops / s.flops);
      if (s.step % 100 === 0)
        log(`  ${m.id} seed ${job.train.seed}: step ${s.step} loss ${s.loss.toFixed(3)}`);
    },
  });
  o.onRun?.(`${m.id}-seed${job.train.seed}`, run);
  task = loadSplits(job.dataset).task;
  const report = await run.run();
  if (report.status !== 'finished') throw new Error(`${m.id}: the run ended ${report.status}`);
  const f = report.flops;
  const ratio = audits.length > 0 ? audits.reduce((a, b) => a + b, 0) / audits.length : undefined;
  return resultOf(job, m, task, report.evaluation.after ?? [], {
    steps: report.steps,
    flops: { training: f.training, selection: f.selection, full: f.full, saved_net: f.saved_ratio },
    executed_flops: ratio !== undefined ? f.training * ratio : null,
    ...(selected.length > 0 ? { selections: churn(selected) } : {}),
    seconds: report.train_seconds,
    backend: o.backend,
  });
}

/** How much consecutive selections differ, and how often the tied embedding is among them. */
export function churn(selected: ReadonlyArray<ReadonlySet<string>>): NonNullable<RunResult['selections']> {
  const swapped = selected
    .slice(1)
    .map(
      (s, k) =>
        [...s].filter((n) => !selected[k]!.has(n)).length + [...selected[k]!].filter((n) => !s.has(n)).length,
    );
  const embedding = (s: ReadonlySet<string>) =>
    [...s].some((n) => /(^|\.)(embed_tokens|shared)\.weight$/.test(n));
  return {
    count: selected.length,
    mean_swapped: swapped.length > 0 ? swapped.reduce((a, b) => a + b, 0) / swapped.length : 0,
    with_embedding: selected.filter(embedding).length / selected.length,
  };
}

/** Every result file in `dir` that parses (a corrupt one is skipped: `runStudy` names and redoes it). */
export function readResults(dir: string): RunResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      try {
        const r = Result.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
        return r.success ? [r.data] : [];
      } catch {
        return [];
      }
    });
}

/**
 * The results of `dir` that this study would produce — a method of `o.methods` and the job it
 * would run for that seed — and the names of the rest (other settings, unknown methods), which
 * the report leaves out rather than mix configurations.
 */
export function currentResults(o: StudyOptions): { current: RunResult[]; other: string[] } {
  const current: RunResult[] = [];
  const other: string[] = [];
  for (const r of readResults(o.resultsDir)) {
    const m = o.methods.find((x) => x.id === r.method);
    if (m && JSON.stringify(r.job) === JSON.stringify(identity(jobFor(o, m, r.seed)))) current.push(r);
    else other.push(`${r.method}-seed${r.seed}`);
  }
  return { current, other };
}

// ---- statistics ----

/** Two-sided 97.5 % quantiles of Student's t for 1…30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}: the table to 30, then the Cornish–Fisher expansion about z = 1.96. */
export function t975(df: number): number {
  if (df < 1) return Number.NaN;
  if (df <= 30) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** Mean and half-width of the 95 % t-interval (mean ± t_{0.975,n−1}·s/√n); NaN half-width for n < 2. */
export function tInterval(xs: readonly number[]): { mean: number; half: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, half: Number.NaN, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, half: (t975(n - 1) * sd) / Math.sqrt(n), n };
}

/**
 * Percentile bootstrap 95 % CI of the mean of paired differences: `resamples` resamples of the
 * pairs with replacement, drawn with mulberry32 from `seed` (the same pairs give the same CI).
 */
export function pairedBootstrap(
  diffs: readonly number[],
  o: { resamples?: number; seed?: number } = {},
): { mean: number; lo: number; hi: number; n: number } {
  const n = diffs.length;
  const mean = diffs.reduce((a, b) => a + b, 0) / n;
  const b = o.resamples ?? 10_000;
  const next = mulberry32(o.seed ?? 19);
  const means = new Float64Array(b);
  for (let k = 0; k < b; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(next() * n)]!;
    means[k] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(b - 1, Math.max(0, Math.round(q * (b - 1))))]!;
  return { mean, lo: at(0.025), hi: at(0.975), n };
}

/**
 * Differences `a − b` of one metric, paired by (seed, test example): the seeds both ran, over the
 * examples both scored. Undefined when they share none.
 */
export function pairedDifferences(
  a: readonly RunResult[],
  b: readonly RunResult[],
  metric: string,
): number[] | undefined {
  const bySeed = new Map(b.map((r) => [r.seed, r]));
  const diffs: number[] = [];
  for (const r of a) {
    const other = bySeed.get(r.seed);
    const x = r.per_example[metric];
    const y = other?.per_example[metric];
    if (!x || !y) continue;
    for (let i = 0; i < Math.min(x.length, y.length); i++) diffs.push(x[i]! - y[i]!);
  }
  return diffs.length > 0 ? diffs : undefined;
}

// ---- report ----

/** The task's metric columns; the first is the headline (chart, paired differences). */
export const METRICS: Record<Task, { readonly keys: readonly string[]; readonly names: readonly string[] }> =
  {
    summarization: {
      keys: ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'],
      names: ['ROUGE-1', 'ROUGE-2', 'ROUGE-L', 'ROUGE-Lsum'],
    },
    qa: { keys: ['f1', 'exact_match'], names: ['F1', 'exact match'] },
    choice: { keys: ['accuracy'], names: ['accuracy'] },
  };

export interface MethodSummary {
  readonly id: string;
  readonly label: string;
  readonly kind: string;
  readonly ablation: boolean;
  /** The job's ρ (1 for the methods without one). */
  readonly rho: number;
  readonly seeds: number[];
  readonly metrics: Record<string, { mean: number; half: number }>;
  readonly validationLoss?: { mean: number; half: number };
  /** Paired bootstrap CI of the headline metric's difference to Full FT. */
  readonly vsFull?: { mean: number; lo: number; hi: number; n: number };
  /** An ablation against its reference (GreenTrainer at the same ρ, no change), paired. */
  readonly vsReference?: AblationComparison;
  readonly flops: number;
  readonly selection: number;
  readonly executed?: number;
  /** FLOPs saved against Full FT's runs, net of re-selection: 1 − (training + selection) ÷ Full FT's training. */
  readonly savedNet?: number;
  readonly seconds: number;
}

/**
 * An ablation against its reference, paired by seed (validation loss: one number per run) and by
 * (seed, test example) (the headline metric). `verdict` reads the validation-loss interval: `lower`
 * or `higher` when it excludes 0, `unresolved` when it does not, `one seed` without an interval.
 */
export interface AblationComparison {
  readonly reference: string;
  readonly seeds: number[];
  readonly loss?: { mean: number; half: number; n: number; lowerOn: number };
  readonly headline?: { mean: number; lo: number; hi: number; n: number };
  readonly verdict: 'lower' | 'higher' | 'unresolved' | 'one seed';
}

/** Compares an ablation's runs with the reference's, over the seeds both ran. */
export function compareAblation(
  runs: readonly RunResult[],
  reference: readonly RunResult[],
  headline: string,
): AblationComparison | undefined {
  const bySeed = new Map(reference.map((r) => [r.seed, r]));
  const pairs = runs.filter((r) => bySeed.has(r.seed));
  if (pairs.length === 0) return undefined;
  const lossDiffs = pairs.flatMap((r) => {
    const a = r.validation_loss;
    const b = bySeed.get(r.seed)!.validation_loss;
    return a === null || b === null ? [] : [a - b];
  });
  const loss =
    lossDiffs.length > 0
      ? { ...tInterval(lossDiffs), lowerOn: lossDiffs.filter((d) => d < 0).length }
      : undefined;
  const diffs = pairedDifferences(pairs, reference, headline);
  const verdict =
    loss === undefined || Number.isNaN(loss.half)
      ? 'one seed'
      : loss.mean + loss.half < 0
        ? 'lower'
        : loss.mean - loss.half > 0
          ? 'higher'
          : 'unresolved';
  return {
    reference: reference[0]!.method,
    seeds: pairs.map((r) => r.seed),
    ...(loss ? { loss } : {}),
    ...(diffs ? { headline: pairedBootstrap(diffs) } : {}),
    verdict,
  };
}

/** Per method (in `order`, then any other found): means, CIs and the paired comparison to Full FT. */
export function summarise(results: readonly RunResult[], order: readonly string[] = []): MethodSummary[] {
  const ids = [
    ...new Set([
      ...order.filter((id) => results.some((r) => r.method === id)),
      ...results.map((r) => r.method),
    ]),
  ];
  const task = results[0]?.task ?? 'summarization';
  const headline = METRICS[task].keys[0]!;
  const full = results.filter((r) => r.method === 'full');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fullFlops = full.length > 0 ? mean(full.map((r) => r.flops.training)) : undefined;
  return ids.map((id) => {
    const runs = results.filter((r) => r.method === id).sort((a, b) => a.seed - b.seed);
    const first = runs[0]!;
    const metrics = Object.fromEntries(
      Object.keys(first.metrics).map((k) => {
        const t = tInterval(runs.map((r) => r.metrics[k]!));
        return [k, { mean: t.mean, half: t.half }];
      }),
    );
    const losses = runs.map((r) => r.validation_loss).filter((x): x is number => x !== null);
    const diffs = id !== 'full' && full.length > 0 ? pairedDifferences(runs, full, headline) : undefined;
    const executed = runs.map((r) => r.executed_flops).filter((x): x is number => x !== null);
    const flops = mean(runs.map((r) => r.flops.training));
    const selection = mean(runs.map((r) => r.flops.selection));
    const reference = first.ablation
      ? results.filter((r) => !r.ablation && r.kind === 'greentrainer' && r.job.rho === first.job.rho)
      : [];
    const vsReference = reference.length > 0 ? compareAblation(runs, reference, headline) : undefined;
    return {
      id,
      label: first.label,
      kind: first.kind,
      ablation: first.ablation,
      rho: typeof first.job.rho === 'number' ? first.job.rho : 1,
      seeds: runs.map((r) => r.seed),
      metrics,
      ...(losses.length > 0 ? { validationLoss: tInterval(losses) } : {}),
      ...(diffs ? { vsFull: pairedBootstrap(diffs) } : {}),
      ...(vsReference ? { vsReference } : {}),
      flops,
      selection,
      ...(executed.length > 0 ? { executed: mean(executed) } : {}),
      ...(fullFlops && first.kind !== 'base' ? { savedNet: 1 - (flops + selection) / fullFlops } : {}),
      seconds: mean(runs.map((r) => r.seconds)),
    };
  });
}

const num = (x: number | undefined, digits = 2) =>
  x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
const ci = (v: { mean: number; half: number } | undefined, digits = 2) =>
  v === undefined
    ? '–'
    : Number.isNaN(v.half)
      ? num(v.mean, digits)
      : `${num(v.mean, digits)} ± ${num(v.half, digits)}`;
const tflop = (x: number | undefined) => (x === undefined ? '–' : (x / 1e12).toFixed(2));

/** The report's tables (Markdown), from the summaries of one task. */
export function reportTables(summaries: readonly MethodSummary[], task: Task): string[] {
  const { keys, names } = METRICS[task];
  const head = [
    `| method | seeds | ${names.join(' | ')} | val. loss | Δ ${names[0]} vs Full FT [paired 95 % CI] | FLOPs (TFLOP, modeled) | re-selection (TFLOP) | executed (TFLOP) | FLOPs saved, net of re-selection | train time (s) |`,
    `| --- | --- | ${names.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  const row = (s: MethodSummary) =>
    `| ${s.label.replace(/\|/g, '\\|')} | ${s.seeds.join(', ')} | ${keys.map((k) => ci(s.metrics[k])).join(' | ')} | ${ci(
      s.validationLoss,
      3,
    )} | ${
      s.vsFull ? `${num(s.vsFull.mean)} [${num(s.vsFull.lo)}, ${num(s.vsFull.hi)}]` : '–'
    } | ${s.kind === 'base' ? '–' : tflop(s.flops)} | ${s.kind === 'base' ? '–' : (s.selection / 1e12).toFixed(3)} | ${tflop(
      s.executed,
    )} | ${s.savedNet === undefined ? '–' : `${(s.savedNet * 100).toFixed(1)} %`} | ${s.kind === 'base' ? '–' : num(s.seconds, 0)} |`;
  const main = summaries.filter((s) => !s.ablation);
  const ablations = summaries.filter((s) => s.ablation);
  return [
    ...head,
    ...main.map(row),
    ...(ablations.length > 0
      ? [
          '',
          `Ablations: GreenTrainer at the ρ each names (the reference: Δw·∂L/∂w, current moments, re-selection every ${INTERVAL} steps) with one change each:`,
          '',
          ...head,
          ...main.filter((m) => m.kind === 'greentrainer' && ablations.some((a) => a.rho === m.rho)).map(row),
          ...ablations.map(row),
          ...comparisonTable(ablations, summaries, names[0]!),
        ]
      : []),
  ];
}

/** Each ablation against its reference, paired: the table that decides which change to adopt. */
function comparisonTable(
  ablations: readonly MethodSummary[],
  all: readonly MethodSummary[],
  name: string,
): string[] {
  const compared = ablations.filter((a) => a.vsReference);
  if (compared.length === 0) return [];
  const label = (id: string) => (all.find((s) => s.id === id)?.label ?? id).replace(/\|/g, '\\|');
  // The sign of the printed figure: a difference that rounds to 0 prints +0.
  const signed = (x: number, digits: number) =>
    `${Number(x.toFixed(digits)) >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
  return [
    '',
    'Each ablation minus its reference, paired: validation loss by seed (mean difference ± the half-width of its 95 % t-interval; ' +
      `"lower" when the interval lies below 0), ${name} by (seed, test example) with a percentile bootstrap 95 % CI:`,
    '',
    `| ablation | reference | seeds | Δ val. loss [paired 95 % t-interval] | lower on | Δ ${name} [paired 95 % CI] | val. loss verdict |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...compared.map((a) => {
      const c = a.vsReference!;
      const loss = c.loss
        ? Number.isNaN(c.loss.half)
          ? signed(c.loss.mean, 4)
          : `${signed(c.loss.mean, 4)} ± ${c.loss.half.toFixed(4)}`
        : '–';
      const h = c.headline
        ? `${signed(c.headline.mean, 2)} [${signed(c.headline.lo, 2)}, ${signed(c.headline.hi, 2)}]`
        : '–';
      return `| ${a.label.replace(/\|/g, '\\|')} | ${label(c.reference)} | ${c.seeds.join(', ')} | ${loss} | ${
        c.loss ? `${c.loss.lowerOn} of ${c.loss.n}` : '–'
      } | ${h} | ${c.verdict} |`;
    }),
  ];
}

/** The headline metric (mean, with its 95 % t-interval as a bar) against training FLOPs, one point per method. */
export function chart(summaries: readonly MethodSummary[], task: Task): string {
  const key = METRICS[task].keys[0]!;
  const name = METRICS[task].names[0]!;
  const points = summaries.filter((s) => s.kind !== 'base' && s.metrics[key] !== undefined);
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 20, t: 20, b: 50 };
  const maxF = Math.max(...points.map((p) => p.flops), 1) * 1.05;
  const half = (p: MethodSummary) => (Number.isNaN(p.metrics[key]!.half) ? 0 : p.metrics[key]!.half);
  const minY = Math.floor(Math.min(...points.map((p) => p.metrics[key]!.mean - half(p))) - 1);
  const maxY = Math.ceil(Math.max(...points.map((p) => p.metrics[key]!.mean + half(p))) + 1);
  const x = (f: number) => m.l + (f / maxF) * (W - m.l - m.r);
  const y = (r: number) => H - m.b - ((r - minY) / (maxY - minY)) * (H - m.t - m.b);
  const dots = points
    .map((p) => {
      const v = p.metrics[key]!;
      const colour = p.kind === 'greentrainer' ? (p.ablation ? '#8cc79a' : '#2a9d4b') : '#555';
      const cx = x(p.flops).toFixed(1);
      return (
        `<line x1="${cx}" x2="${cx}" y1="${y(v.mean - half(p)).toFixed(1)}" y2="${y(v.mean + half(p)).toFixed(1)}" stroke="${colour}"/>` +
        `<circle cx="${cx}" cy="${y(v.mean).toFixed(1)}" r="4" fill="${colour}"/>` +
        `<text x="${(x(p.flops) + 6).toFixed(1)}" y="${(y(v.mean) - 6).toFixed(1)}" font-size="11">${p.label}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" role="img"><title>${name} against training FLOPs</title>
<rect width="100%" height="100%" fill="white"/>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>
<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">training FLOPs (TFLOP, modeled)</text>
<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle" font-size="12">${name} (test; bar: 95 % t-interval over seeds)</text>
<text x="${m.l - 6}" y="${y(maxY)}" text-anchor="end" font-size="10">${maxY}</text><text x="${m.l - 6}" y="${y(minY)}" text-anchor="end" font-size="10">${minY}</text>
<text x="${W - m.r}" y="${H - m.b + 14}" text-anchor="end" font-size="10">${(maxF / 1e12).toFixed(1)}</text><text x="${m.l}" y="${H - m.b + 14}" font-size="10">0</text>
${dots}
</svg>
`;
}

/** The report: a header (given), how to read the statistics, the tables; and the chart. */
export function studyReport(
  results: readonly RunResult[],
  header: readonly string[],
  order: readonly string[] = [],
): { markdown: string; svg: string; summaries: MethodSummary[] } {
  const task = results[0]?.task ?? 'summarization';
  const summaries = summarise(results, order);
  const name = METRICS[task].names[0]!;
  const markdown = [
    ...header,
    `Each cell is the mean over seeds ± the half-width of its 95 % t-interval (mean ± t₀.₉₇₅,ₙ₋₁·s/√n, n seeds; none for one seed). ` +
      `The Δ ${name} column is the method's ${name} minus Full FT's, paired by (seed, test example), with a percentile bootstrap 95 % CI ` +
      '(10,000 resamples of the pairs, mulberry32 seed 19: the same result files give the same report). ' +
      "FLOPs saved are against Full FT's mean training FLOPs, net of re-selection's importance passes.",
    '',
    ...reportTables(summaries, task),
    '',
  ].join('\n');
  return { markdown, svg: chart(summaries, task), summaries };
}
