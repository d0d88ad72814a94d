/** Test helpers: a tiny OPT or T5 model folder, a summarisation dataset and a job file in a temp dir. */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CausalLM } from '../../src/models/causal-lm.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import { rng } from './random.js';

export const TINY_CONFIG = {
  model_type: 'opt',
  vocab_size: 300,
  hidden_size: 32,
  ffn_dim: 64,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  max_position_embeddings: 128,
  bos_token_id: 0,
  eos_token_id: 0,
  pad_token_id: 0,
};

/** A tiny FLAN-T5-style model (gated-gelu, untied lm_head) over the same 300-token tokenizer. */
export const TINY_T5_CONFIG = {
  model_type: 't5',
  vocab_size: 300,
  d_model: 32,
  d_kv: 8,
  d_ff: 64,
  num_layers: 2,
  num_heads: 2,
  relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16,
  feed_forward_proj: 'gated-gelu',
  tie_word_embeddings: false,
  is_encoder_decoder: true,
  decoder_start_token_id: 0,
  eos_token_id: 0,
  pad_token_id: 0,
};

const WORDS =
  'the grid carbon model train step solar wind night peak energy tensor layer data cost low high'.split(' ');

/** Source: a run of words; target: its first three words (learnable, short). */
export function tinyExamples(n: number, seed: number): Array<{ source: string; target: string }> {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const words = Array.from(
      { length: 6 + Math.floor(r() * 6) },
      () => WORDS[Math.floor(r() * WORDS.length)]!,
    );
    return { source: words.join(' '), target: words.slice(0, 3).join(' ') };
  });
}

export type TinyModel = 'opt' | 't5';

export function tinyModelFolder(dir: string, kind: TinyModel = 'opt'): string {
  const [model, config] =
    kind === 't5'
      ? [Seq2SeqLM.random(TINY_T5_CONFIG, 'tiny-t5', 1), TINY_T5_CONFIG]
      : [CausalLM.random(TINY_CONFIG, 'tiny', 1), TINY_CONFIG];
  const folder = join(dir, 'model');
  saveModel(model, config, folder);
  model.dispose();
  const tokenizers = new URL('../fixtures/tokenizers/gpt2-bytelevel/', import.meta.url).pathname;
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(tokenizers, f), join(folder, f));
  return folder;
}

export interface TinyJob {
  readonly dir: string;
  readonly jobFile: string;
  readonly output: string;
}

/** A temp dir with model/, data/{train,validation,test}.jsonl and job.yaml (extra YAML appended). */
export function tinyJob(extra = '', examples = 24, kind: TinyModel = 'opt'): TinyJob {
  const dir = mkdtempSync(join(tmpdir(), 'gt-job-'));
  tinyModelFolder(dir, kind);
  mkdirSync(join(dir, 'data'));
  const lines = (xs: object[]) => `${xs.map((x) => JSON.stringify(x)).join('\n')}\n`;
  writeFileSync(join(dir, 'data', 'train.jsonl'), lines(tinyExamples(examples, 1)));
  writeFileSync(join(dir, 'data', 'validation.jsonl'), lines(tinyExamples(8, 2)));
  writeFileSync(join(dir, 'data', 'test.jsonl'), lines(tinyExamples(4, 3)));
  const jobFile = join(dir, 'job.yaml');
  writeFileSync(
    jobFile,
    `name: tiny
model: model
dataset: { path: data }
rho: 0.6
train: { epochs: 2, batch_size: 4, lr: 1.0e-3, max_input_length: 48, max_output_length: 8 }
selection: { interval_steps: 5 }
checkpoint: { every_steps: 5, keep: 2 }
eval: { beams: 2, max_new_tokens: 6 }
output: run
${extra}`,
  );
  return { dir, jobFile, output: join(dir, 'run') };
}
