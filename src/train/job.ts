/**
 * A fine-tuning job: model folder, dataset, method, ρ, training hyper-parameters (the paper's
 * setup by default), selection, checkpoints, evaluation and the run folder. Read from YAML
 * (`greentrainer train --job`) or embedded under `job:` in the daemon's config. Relative paths
 * resolve against the file's folder.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readYamlConfig } from '../config/yaml-file.js';
import { promptFor, type Task } from './data.js';
import { presetNames } from './presets.js';

const positiveInt = z.number().int().positive();

const Dataset = z.strictObject({
  /** A folder with train/validation/test files, or a single training file. */
  path: z.string().min(1),
  /** A preset of the paper's datasets (its fields, task and metric), or explicit fields (summaries). */
  preset: z.enum(presetNames).optional(),
  source_field: z.string().min(1).default('source'),
  target_field: z.string().min(1).default('target'),
  format: z.enum(['jsonl', 'json']).default('jsonl'),
  /** File names inside `path` (extension added from `format` when missing). */
  splits: z
    .strictObject({
      train: z.string().default('train'),
      validation: z.string().default('validation'),
      test: z.string().default('test'),
    })
    .prefault({}),
});

const Train = z.strictObject({
  epochs: positiveInt.default(5),
  /** Stop after this many optimizer steps (default: epochs × steps per epoch). */
  max_steps: positiveInt.optional(),
  batch_size: positiveInt.default(4),
  grad_accum: positiveInt.default(1),
  lr: z.number().positive().default(2e-5),
  warmup_steps: z.number().int().nonnegative().default(0),
  weight_decay: z.number().nonnegative().default(0.01),
  max_grad_norm: z.number().positive().optional(),
  max_input_length: positiveInt.default(512),
  max_output_length: positiveInt.default(64),
  seed: z.number().int().nonnegative().default(42),
});

const Selection = z.strictObject({
  interval_steps: positiveInt.default(200),
  importance_batches: positiveInt.default(1),
  /** Δw·∂L/∂w (the paper), or |Δw| or |∂L/∂w| alone (the paper's Table 4 ablation). */
  importance: z.enum(['delta_gradient', 'delta', 'gradient']).default('delta_gradient'),
  /**
   * The AdamW state Δw is computed from: `keep` (each tensor's moments, and tensors leaving the
   * selection keep theirs, frozen: the default, adopted from issue 19's study, where it gave the
   * lowest validation loss at ρ 0.7 on three seeds), `current` (as `keep`, but a tensor leaving
   * the selection drops its moments: less memory; it is scored with a first-step update when it
   * has none) or `fresh` (every tensor's first-step update, moments ignored).
   */
  moments: z.enum(['current', 'fresh', 'keep']).default('keep'),
  resolution: positiveInt.default(10_000),
});

const Checkpoint = z.strictObject({
  every_steps: positiveInt.default(100),
  keep: positiveInt.default(3),
});

const Evaluation = z.strictObject({
  beams: positiveInt.default(4),
  max_new_tokens: positiveInt.default(64),
  /** Test examples to generate for (all when absent). */
  samples: positiveInt.optional(),
  /** Validation examples for loss and perplexity (all when absent). */
  validation_samples: positiveInt.optional(),
  /** Evaluate before training too, to report the gain. */
  before: z.boolean().default(false),
});

export const JobConfig = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only (it names metrics and folders)')
    .default('job'),
  model: z.string().min(1),
  dataset: Dataset,
  method: z.enum(['greentrainer', 'full', 'top2', 'lora', 'prefix']).default('greentrainer'),
  /** Prefix tuning: trained key/value positions per attention layer (the paper: 10). */
  prefix: z.strictObject({ length: positiveInt.default(10) }).prefault({}),
  /** LoRA on W_Q and W_V (the paper's baseline); merged into the weights when the model is saved. */
  lora: z
    .strictObject({ rank: positiveInt.default(8), alpha: z.number().positive().default(16) })
    .prefault({}),
  /** FLOPs objective: one step costs at most ρ × full fine-tuning (GreenTrainer only). */
  rho: z.number().gt(0).lte(1).default(0.6),
  train: Train.prefault({}),
  selection: Selection.prefault({}),
  checkpoint: Checkpoint.prefault({}),
  eval: Evaluation.prefault({}),
  /** Run folder: checkpoints, the fine-tuned model, report.json. */
  output: z.string().min(1),
});

export type Job = z.output<typeof JobConfig>;

/** How a job encodes its examples: the paper's prompt for the task and the model, and its length limits. */
export function encodeOptions(job: Job, eosId: number, task: Task, encoderDecoder: boolean) {
  return {
    prompt: promptFor(task, encoderDecoder),
    maxInputLength: job.train.max_input_length,
    maxOutputLength: job.train.max_output_length,
    eosId,
  };
}

/** Resolves the job's relative paths against `base` (the folder of the file it came from). */
export function resolvePaths(job: Job, base: string): Job {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...job,
    model: at(job.model),
    dataset: { ...job.dataset, path: at(job.dataset.path) },
    output: at(job.output),
  };
}

/** Reads and validates a job file. */
export function readJob(file: string): Job {
  return resolvePaths(readYamlConfig(file, JobConfig, { what: 'job' }), dirname(resolve(file)));
}
