/**
 * A job checked against its model before anything heavy loads (tokenizer, weights, data): the
 * model folder exists and holds a config greentrainer can build, a training sequence fits the
 * model's positions, and the selector's problem (tensors × `selection.resolution`) fits its limit.
 * Each problem names the job's key and the limit it exceeds.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../config/json-file.js';
import { contextLength } from '../greentrainer/architectures/hf-config.js';
import { buildArchitecture } from '../greentrainer/architectures/index.js';
import { tensorOrder } from '../greentrainer/flops.js';
import type { ModelSpec } from '../greentrainer/graph.js';
import { maxLoraRank } from '../greentrainer/schemes.js';
import { selectionSizeProblem } from '../greentrainer/selector.js';
import type { Job } from './job.js';

export class JobError extends Error {
  override readonly name = 'JobError';
}

/** Reads the model's config.json and checks the job against it; returns the model's spec. */
export function checkJobModel(job: Job): ModelSpec {
  const folder = job.model;
  if (!existsSync(folder)) throw new JobError(`model ${folder}: no such folder`);
  if (!statSync(folder).isDirectory())
    throw new JobError(
      `model ${folder}: expected a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)`,
    );
  const file = join(folder, 'config.json');
  if (!existsSync(file))
    throw new JobError(`model ${folder}: no config.json: not a Hugging Face model folder`);
  const config = readJsonFile(file);
  const spec = buildArchitecture(config, file);
  const problems = [...lengthProblems(job, config, file), ...methodProblems(job, spec)];
  if (problems.length > 0)
    throw new JobError(
      `the job does not fit its model ${folder}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  return spec;
}

/** The longest training sequence (prompt cut to max_input_length, target to max_output_length) vs positions. */
function lengthProblems(job: Job, config: unknown, file: string): string[] {
  const context = contextLength(config);
  const { max_input_length: input, max_output_length: output } = job.train;
  if (!context || input + output <= context.tokens) return [];
  return [
    `train.max_input_length + train.max_output_length = ${input} + ${output} = ${input + output} tokens exceed ` +
      `the model's ${context.tokens} positions (${context.field} in ${file}): lower them to a total ≤ ${context.tokens}`,
  ];
}

/** The selector's problem size (GreenTrainer) or the LoRA rank against the model. */
function methodProblems(job: Job, spec: ModelSpec): string[] {
  if (job.method === 'lora') {
    const max = maxLoraRank(spec);
    return job.lora.rank > max
      ? [`lora.rank: ${job.lora.rank} exceeds ${max}, the smallest dimension of the LoRA target weights`]
      : [];
  }
  if (job.method !== 'greentrainer') return [];
  const problem = selectionSizeProblem(tensorOrder(spec).length, job.selection.resolution);
  return problem ? [`selection.resolution: ${problem}`] : [];
}
