/**
 * Hugging Face model folders: `config.json` plus `model.safetensors` or a sharded
 * `model.safetensors.index.json`. Loading checks every header, name and shape before any weight
 * is read, and creates the model only when everything has been read: a bad checkpoint leaves
 * nothing half-loaded. Saving writes the same layout, loadable by `from_pretrained`.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../config/json-file.js';
import type { ModelSpec, TensorSpec } from '../greentrainer/graph.js';
import { makeDirectory } from '../io/make-directory.js';
import { CausalLM, describeCausalLM } from './causal-lm.js';
import { estimateTrainingMemory, memoryShape, requireFits } from './memory.js';
import { CheckpointError, SafetensorsReader, type TensorEntry, writeSafetensors } from './safetensors.js';
import { describeSeq2SeqLM, Seq2SeqLM } from './seq2seq-lm.js';

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** Tensors that checkpoints carry but that are not weights (buffers), or duplicates of tied ones. */
const IGNORABLE = /(^|\.)(attn\.bias|attn\.masked_bias|rotary_emb\.inv_freq)$/;

/** A backend's memory cap, checked against the weights before any is read. */
export interface MemoryCap {
  readonly limitBytes: number;
  readonly backend: string;
  readonly packsWeights: boolean;
}

/** Loads a Hugging Face model folder: a causal LM, or an encoder-decoder one (T5). */
export function loadModel(folder: string, cap?: MemoryCap): CausalLM | Seq2SeqLM {
  const source = join(folder, 'config.json');
  const config = readJsonFile(source);
  if ((config as { model_type?: unknown }).model_type === 't5') {
    const tied = lmHeadShared(folder);
    const { spec, tensors } = describeSeq2SeqLM(config, source, tied);
    if (cap) checkCap(folder, spec, tensors, cap);
    return Seq2SeqLM.fromValues(config, source, readWeights(folder, tensors, tiedOutput(spec)), tied);
  }
  const { spec, tensors } = describeCausalLM(config, source);
  if (cap) checkCap(folder, spec, tensors, cap);
  return CausalLM.fromValues(config, source, readWeights(folder, tensors, tiedOutput(spec)));
}

/** Loads a Hugging Face folder of a decoder-only model. */
export function loadCausalLM(folder: string, cap?: MemoryCap): CausalLM {
  const model = loadModel(folder, cap);
  if (model instanceof CausalLM) return model;
  model.dispose();
  throw new CheckpointError(folder, 'this is an encoder-decoder model; load it with loadModel');
}

/**
 * Whether a T5 checkpoint's lm_head is `shared.weight`, as transformers 5 ties it on load (its
 * `T5Config` forces `tie_word_embeddings`): tied when the file has no `lm_head.weight`, or one equal to
 * `shared.weight`; untied when both are there and differ (T5 v1.1, FLAN-T5).
 */
function lmHeadShared(folder: string): boolean {
  const readers = openShards(folder);
  try {
    const find = (name: string) => {
      const reader = readers.find((r) => r.entries.has(name));
      const entry = reader?.entries.get(name);
      return reader && entry ? { reader, entry } : undefined;
    };
    const head = find('lm_head.weight');
    return !head || sameValues(head.reader, 'lm_head.weight', find('shared.weight'));
  } finally {
    for (const r of readers) r.close();
  }
}

/** The embedding the output projection is tied to, if it is. */
function tiedOutput(spec: ModelSpec): string | undefined {
  return spec.outputEmbedding === 'lm_head.weight' ? undefined : spec.outputEmbedding;
}

function checkCap(folder: string, spec: ModelSpec, tensors: readonly TensorSpec[], cap: MemoryCap): void {
  const estimate = estimateTrainingMemory({
    tensors,
    trainable: new Set(),
    adam: false,
    shape: memoryShape(spec),
    batch: 1,
    sequence: 1,
    packsWeights: cap.packsWeights,
  });
  requireFits(estimate, cap.limitBytes, `loading ${folder}`, cap.backend);
}

/**
 * Reads the weights of `tensors` (checkpoint names and shapes) from a folder, after checking that
 * every one is present with its shape and that nothing unknown is there.
 */
export function readWeights(
  folder: string,
  tensors: readonly TensorSpec[],
  tiedTo?: string,
): Map<string, Float32Array> {
  const readers = openShards(folder);
  try {
    const available = new Map<string, { reader: SafetensorsReader; entry: TensorEntry }>();
    for (const reader of readers)
      for (const entry of reader.entries.values()) available.set(entry.name, { reader, entry });
    const problems: string[] = [];
    const plan: Array<[TensorSpec, { reader: SafetensorsReader; entry: TensorEntry }]> = [];
    const used = new Set<string>();
    for (const t of tensors) {
      const name = [t.name, withoutBasePrefix(t.name)].find((n) => n !== undefined && available.has(n));
      const found = name ? available.get(name) : undefined;
      if (!name || !found) {
        problems.push(`missing tensor ${t.name} [${t.shape.join(', ')}]`);
        continue;
      }
      used.add(name);
      if (found.entry.shape.join() !== t.shape.join()) {
        problems.push(
          `tensor ${t.name} in ${found.reader.file} has shape [${found.entry.shape.join(', ')}], expected [${t.shape.join(', ')}]`,
        );
        continue;
      }
      plan.push([t, found]);
    }
    for (const [name, { reader }] of available) {
      if (used.has(name) || IGNORABLE.test(name)) continue;
      if (name === 'lm_head.weight' && tiedTo && sameValues(reader, name, available.get(tiedTo))) continue;
      problems.push(
        name === 'lm_head.weight' && tiedTo
          ? `lm_head.weight in ${reader.file} differs from ${tiedTo}, but the config ties them (tie_word_embeddings)`
          : `unexpected tensor ${name} in ${reader.file}`,
      );
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, 10).map((p) => `  - ${p}`);
      if (problems.length > 10) shown.push(`  - … and ${problems.length - 10} more`);
      throw new CheckpointError(folder, `checkpoint does not match the model config:\n${shown.join('\n')}`);
    }
    return new Map(plan.map(([t, { reader, entry }]) => [t.name, reader.read(entry.name)]));
  } finally {
    for (const r of readers) r.close();
  }
}

/** A duplicate of a tied tensor, as older checkpoints store one, is harmless only if identical. */
function sameValues(
  reader: SafetensorsReader,
  name: string,
  other?: { reader: SafetensorsReader; entry: TensorEntry },
): boolean {
  if (!other || reader.entries.get(name)?.shape.join() !== other.entry.shape.join()) return false;
  const a = reader.read(name);
  const b = other.reader.read(other.entry.name);
  return a.every((v, i) => v === b[i]);
}

/** `transformer.h.0.x` → `h.0.x`: base-model checkpoints (GPT2Model, OPTModel) drop the head's prefix. */
function withoutBasePrefix(name: string): string | undefined {
  const dot = name.indexOf('.');
  return dot > 0 ? name.slice(dot + 1) : undefined;
}

function openShards(folder: string): SafetensorsReader[] {
  const index = join(folder, INDEX);
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = (readJsonFile(index) as { weight_map: Record<string, string> }).weight_map;
      if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map');
    } catch {
      throw new CheckpointError(index, 'expected JSON with a "weight_map" object');
    }
    const readers: SafetensorsReader[] = [];
    try {
      for (const shard of new Set(Object.values(weightMap)))
        readers.push(SafetensorsReader.open(join(folder, shard)));
    } catch (error) {
      for (const r of readers) r.close();
      throw error;
    }
    return readers;
  }
  const single = join(folder, SINGLE);
  if (!existsSync(single)) throw new CheckpointError(folder, `no ${SINGLE} or ${INDEX} in the model folder`);
  return [SafetensorsReader.open(single)];
}

/**
 * Saves a model as a Hugging Face folder (config.json + model.safetensors) that
 * `AutoModelForCausalLM.from_pretrained` (`AutoModelForSeq2SeqLM` for T5) loads: a tied output
 * projection is not written, as transformers does. Each file is replaced atomically.
 */
export function saveModel(model: CausalLM | Seq2SeqLM, config: unknown, folder: string): void {
  makeDirectory(folder);
  const configFile = join(folder, 'config.json');
  writeFileSync(`${configFile}.tmp-${process.pid}`, `${JSON.stringify(config, null, 2)}\n`);
  renameSync(`${configFile}.tmp-${process.pid}`, configFile);
  writeSafetensors(join(folder, SINGLE), [...model.params.checkpointValues()], { format: 'pt' });
}
