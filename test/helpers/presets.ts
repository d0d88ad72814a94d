/** Test helpers: the bundled model configs. */
import { readFileSync } from 'node:fs';
import { buildArchitecture } from '../../src/greentrainer/architectures/index.js';
import type { ModelSpec } from '../../src/greentrainer/graph.js';

export const PRESETS = [
  'opt-350m',
  'opt-1.3b',
  'opt-2.7b',
  'opt-6.7b',
  'bloomz-3b',
  'flan-t5-xl',
  'gpt2',
  'tinyllama-1.1b',
  'llama-3.2-1b',
  'smollm2-360m',
  'qwen2.5-0.5b',
  'mistral-7b-v0.3',
] as const;

export function presetConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../config/models/${name}.json`, import.meta.url), 'utf8'));
}

export function presetSpec(name: string): ModelSpec {
  return buildArchitecture(presetConfig(name), `${name}.json`);
}
