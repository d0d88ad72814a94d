/**
 * Registry of architecture families, keyed by the Hugging Face `model_type` of `config.json`.
 */
import { ModelConfigError } from '../errors.js';
import type { ModelSpec } from '../graph.js';
import { buildBloom } from './bloom.js';
import { buildGpt2 } from './gpt2.js';
import { buildLlamaFamily } from './llama.js';
import { buildOpt } from './opt.js';
import { buildT5 } from './t5.js';

type Builder = (config: unknown, source: string) => ModelSpec;

const FAMILIES: Readonly<Record<string, Builder>> = {
  opt: buildOpt,
  gpt2: buildGpt2,
  bloom: buildBloom,
  llama: (config, source) => buildLlamaFamily('llama', config, source),
  qwen2: (config, source) => buildLlamaFamily('qwen2', config, source),
  mistral: (config, source) => buildLlamaFamily('mistral', config, source),
  t5: buildT5,
};

export const knownModelTypes: readonly string[] = Object.keys(FAMILIES);

/**
 * Builds the tensor-level description of a model from its Hugging Face `config.json` object.
 * `source` names where the config came from, for error messages.
 */
export function buildArchitecture(config: unknown, source: string): ModelSpec {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ModelConfigError(source, [{ path: '', message: 'expected a JSON object' }]);
  }
  const modelType = (config as { model_type?: unknown }).model_type;
  if (typeof modelType !== 'string') {
    throw new ModelConfigError(source, [
      { path: 'model_type', message: 'expected a string naming the family' },
    ]);
  }
  const build = FAMILIES[modelType];
  if (!build) {
    throw new ModelConfigError(source, [
      {
        path: 'model_type',
        message: `unknown model type '${modelType}'; known: ${knownModelTypes.join(', ')}`,
      },
    ]);
  }
  return build(config, source);
}
