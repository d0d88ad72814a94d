/**
 * What a checkpoint holds, and putting it back: every tensor trained so far (in compute layout;
 * untouched tensors come from the base model folder), AdamW's moments and step counts, the
 * trainer's step, ρ and selection, the data cursor, and running totals. The data order is a pure
 * function of (seed, epoch), so the cursor is the whole RNG state; nothing else draws random
 * numbers while training (no dropout).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { Parameters } from '../models/parameters.js';
import type { TensorToWrite } from '../models/safetensors.js';
import type { AdamW } from './adamw.js';
import { BatchStream, type Cursor } from './batches.js';
import type { CheckpointData, LoadedCheckpoint } from './checkpoint-store.js';
import type { Job } from './job.js';
import { type Trainer, TrainingError } from './trainer.js';

export interface Totals {
  flops: number;
  fullFlops: number;
  /** Modeled FLOPs of the importance passes of every re-selection so far. */
  selectionFlops: number;
  trainSeconds: number;
  lastLoss: number | null;
}

interface RunParts {
  readonly job: Job;
  readonly model: { readonly params: Parameters };
  readonly optimizer: AdamW;
  readonly trainer: Trainer;
  readonly totals: Totals;
  readonly touched: Set<string>;
  readonly trainExamples: number;
}

const State = z.object({
  fingerprint: z.record(z.string(), z.union([z.string(), z.number()])),
  trainer: z.object({
    step: z.number().int().nonnegative(),
    rho: z.number(),
    pendingRho: z.number().optional(),
    selected: z.array(z.string()).readonly(),
    importance: z
      .object({ scored: z.number().int().nonnegative(), scores: z.record(z.string(), z.number()) })
      .optional(),
  }),
  cursor: z.object({ epoch: z.number().int().nonnegative(), index: z.number().int().nonnegative() }),
  touched: z.array(z.string()),
  optimizerSteps: z.record(z.string(), z.number().int().nonnegative()),
  totals: z.object({
    flops: z.number(),
    fullFlops: z.number(),
    // Checkpoints written before re-selection was counted hold none.
    selectionFlops: z.number().default(0),
    trainSeconds: z.number(),
    lastLoss: z.number().nullable(),
  }),
});

/** The facts a checkpoint must share with the job resuming it. */
function fingerprint(job: Job, trainExamples: number): Record<string, string | number> {
  return {
    model: job.model,
    method: job.method,
    batch_size: job.train.batch_size,
    grad_accum: job.train.grad_accum,
    seed: job.train.seed,
    train_examples: trainExamples,
  };
}

export function snapshotRun(p: RunParts & { cursor: Cursor }): CheckpointData {
  const value = (name: string, t: tf.Tensor): TensorToWrite => ({
    name,
    shape: t.shape,
    data: t.dataSync() as Float32Array,
  });
  const weights = [...p.touched].sort().map((n) => value(n, p.model.params.get(n)));
  const optimizer = p.optimizer.names().flatMap((n) => {
    const s = p.optimizer.moments(n)!;
    return [value(`${n}::m`, s.m), value(`${n}::v`, s.v)];
  });
  const state: z.input<typeof State> = {
    fingerprint: fingerprint(p.job, p.trainExamples),
    trainer: p.trainer.state(),
    cursor: p.cursor,
    touched: [...p.touched].sort(),
    optimizerSteps: Object.fromEntries(p.optimizer.names().map((n) => [n, p.optimizer.steps(n)])),
    totals: { ...p.totals },
  };
  return { step: p.trainer.steps, weights, optimizer, state };
}

/** Puts a checkpoint back into freshly built parts; returns the data stream at its cursor. */
export function restoreRun(c: LoadedCheckpoint, p: RunParts): BatchStream {
  const s = checkRunState(c, p.job, p.trainExamples);
  for (const [name, w] of c.weights) {
    const v = p.model.params.get(name);
    if (v.shape.join() !== w.shape.join())
      throw new TrainingError(`checkpoint ${c.path}: ${name} has shape [${w.shape}], the model [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
  }
  for (const [name, steps] of Object.entries(s.optimizerSteps)) {
    const m = c.optimizer.get(`${name}::m`);
    const v = c.optimizer.get(`${name}::v`);
    if (!m || !v) throw new TrainingError(`checkpoint ${c.path}: no AdamW moments for ${name}`);
    p.optimizer.load(name, tf.tensor(m.data, m.shape), tf.tensor(v.data, v.shape), steps);
  }
  p.trainer.restore(s.trainer);
  for (const n of s.touched) p.touched.add(n);
  Object.assign(p.totals, s.totals);
  return new BatchStream(p.trainExamples, p.job.train.batch_size, p.job.train.seed, s.cursor);
}

/**
 * A checkpoint's run state, read and checked against the job before any tensor exists: a
 * greentrainer state whose fingerprint (model, data, batching) is this job's.
 */
export function checkRunState(c: LoadedCheckpoint, job: Job, trainExamples: number): z.infer<typeof State> {
  const parsed = State.safeParse(c.state);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new TrainingError(
      `${c.path}/state.json: not the state of a greentrainer checkpoint (${field}${issue.message}); ` +
        'remove this checkpoint folder to resume from an older one, or pass --restart',
    );
  }
  const s = parsed.data;
  const want = fingerprint(job, trainExamples);
  const differs = Object.keys(want).filter((k) => s.fingerprint[k] !== want[k]);
  if (differs.length > 0) {
    throw new TrainingError(
      `checkpoint ${c.path} belongs to a different job: ${differs
        .map((k) => `${k} was ${s.fingerprint[k]}, now ${want[k]}`)
        .join('; ')}`,
    );
  }
  return s;
}
