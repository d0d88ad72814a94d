/**
 * `greentrainer info`: which TensorFlow.js backend runs here, on what device, with what memory
 * limit; with `--model`, the model's family and whether full fine-tuning of it fits, or which
 * config keys greentrainer refuses.
 */
import { type BackendInfo, initBackend } from '../backend/select.js';
import { backendFromEnv } from '../config/env.js';
import { buildArchitecture } from '../greentrainer/architectures/index.js';
import { formatIssues, type Issue, ModelConfigError } from '../greentrainer/errors.js';
import { tensorOrder } from '../greentrainer/flops.js';
import { estimateTrainingMemory, type MemoryEstimate, memoryShape } from '../models/memory.js';
import { loadModelSource } from './model-source.js';

export interface InfoOptions {
  readonly model?: string;
  readonly batch: number;
  readonly sequence: number;
  readonly json: boolean;
}

interface ModelFit {
  readonly model: string;
  /** The Hugging Face `model_type`. */
  readonly family: string;
  readonly parameters: number;
  readonly fullFineTuning: MemoryEstimate;
  readonly fits: boolean | null;
}

/** A model whose config greentrainer cannot build, with the keys it refuses. */
interface RefusedModel {
  readonly model: string;
  readonly family: string | null;
  readonly refused: readonly Issue[];
}

export async function runInfo(o: InfoOptions): Promise<string> {
  const forced = backendFromEnv();
  const backend = await initBackend(forced ? { backend: forced } : {});
  const fit = o.model ? modelFit({ ...o, model: o.model }, backend) : undefined;
  if (o.json) return JSON.stringify({ backend, ...(fit ? { model: fit } : {}) }, null, 2);
  const gib = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GiB`;
  const lines = [
    `backend      ${backend.name} (${backend.package}), device ${backend.device}`,
    `tfjs         ${backend.tfjsVersion}`,
    `memory limit ${backend.memoryLimitBytes ? gib(backend.memoryLimitBytes) : 'none known (host or device memory)'}`,
    ...backend.skipped.map((s) => `skipped      ${s.package}: ${s.reason}`),
  ];
  if (fit && 'refused' in fit) {
    lines.push(
      '',
      `${fit.model}: family ${fit.family ?? 'unknown'}, config refused:`,
      formatIssues(fit.refused),
    );
  } else if (fit) {
    const m = fit.fullFineTuning;
    lines.push(
      '',
      `${fit.model}: family ${fit.family}, ${(fit.parameters / 1e6).toFixed(1)} M parameters; full fine-tuning at batch ${o.batch} × ${o.sequence} tokens needs about ${gib(m.totalBytes)}`,
      `  weights ${gib(m.weightsBytes)}, packed copies ${gib(m.packedBytes)}, gradients ${gib(m.gradientsBytes)}, ` +
        `optimizer ${gib(m.optimizerBytes)}, activations ${gib(m.activationsBytes)}, transients ${gib(m.transientBytes)}` +
        (backend.name === 'wasm' ? ', × 1.5 for the wasm heap' : ''),
      fit.fits === null
        ? '  (no hard limit on this backend)'
        : fit.fits
          ? '  fits this backend'
          : '  does NOT fit this backend',
    );
  }
  return lines.join('\n');
}

function modelFit(o: InfoOptions & { model: string }, backend: BackendInfo): ModelFit | RefusedModel {
  const source = loadModelSource(o.model);
  const family = (source.config as { model_type?: unknown }).model_type;
  let spec: ReturnType<typeof buildArchitecture>;
  try {
    spec = buildArchitecture(source.config, source.file);
  } catch (error) {
    if (!(error instanceof ModelConfigError)) throw error;
    return { model: source.name, family: typeof family === 'string' ? family : null, refused: error.issues };
  }
  const tensors = tensorOrder(spec);
  const estimate = estimateTrainingMemory({
    tensors,
    trainable: new Set(tensors.map((t) => t.name)),
    adam: true,
    shape: memoryShape(spec),
    batch: o.batch,
    sequence: o.sequence,
    packsWeights: backend.name === 'wasm',
  });
  return {
    model: source.name,
    family: spec.modelType,
    parameters: tensors.reduce((s, t) => s + t.shape.reduce((p, d) => p * d, 1), 0),
    fullFineTuning: estimate,
    fits: backend.memoryLimitBytes ? estimate.totalBytes <= backend.memoryLimitBytes : null,
  };
}
