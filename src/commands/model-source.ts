/**
 * Resolves `--model`: a preset name shipped in `config/models/` (`opt-2.7b`, `flan-t5-xl`, …), a
 * path to a `config.json`, or a Hugging Face model folder that contains one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../config/json-file.js';
import { InputFileError } from '../config/text-file.js';
import { packageRoot } from './package-root.js';

export interface ModelSource {
  /** Preset name, or the path the user gave. */
  readonly name: string;
  /** The file the config was read from. */
  readonly file: string;
  readonly config: unknown;
}

/** The folder of bundled model configs. */
export function presetDir(): string {
  return join(packageRoot(), 'config', 'models');
}

export function presetNames(): string[] {
  return readdirSync(presetDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function loadModelSource(model: string): ModelSource {
  if (existsSync(model)) {
    const file = statSync(model).isDirectory() ? join(model, 'config.json') : model;
    return { name: model, file, config: readJsonFile(file) };
  }
  const names = presetNames();
  if (names.includes(model)) {
    const file = join(presetDir(), `${model}.json`);
    return { name: model, file, config: readJsonFile(file) };
  }
  throw new InputFileError(
    `--model ${model}: no such preset, file or folder; presets: ${names.join(', ')} ` +
      '(or give a path to a Hugging Face config.json or model folder)',
  );
}
