/**
 * What the benchmarks share: medians, and running a benchmark on each backend it compares: the one GREENTRAINER_BACKEND forces, or else wasm
 * (the embedded default) and, where `greentrainer setup-native` has built it, native TensorFlow.
 * Each backend runs in its own process: TensorFlow's thread pools, once loaded, slow the wasm
 * backend down in the same process (measured here: matMul 11 vs 18 GFLOP/s).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../src/backend/select.js';
import { backendFromEnv } from '../src/config/env.js';

function nativeBuilt(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node');
    return true;
  } catch {
    return false;
  }
}

/**
 * `measure` in this process when a backend is forced; otherwise this script again per backend
 * (with this run's flags), each printing `{ ..., backends: [result] }` with --json.
 */
export async function perBackend<T>(
  script: string,
  measure: (backend: BackendName) => Promise<T>,
): Promise<T[]> {
  const forced = backendFromEnv();
  if (forced) return [await measure(forced)];
  const names: BackendName[] = nativeBuilt() ? ['wasm', 'tensorflow'] : ['wasm'];
  return names.map((name) => {
    const flags = process.argv.slice(2).filter((a) => a !== '--json');
    const r = spawnSync(process.execPath, [...process.execArgv, script, ...flags, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, GREENTRAINER_BACKEND: name },
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`benchmark on ${name} failed:\n${r.stderr}`);
    return (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { backends: T[] }).backends[0]!;
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Measures on every backend; prints one JSON object with --json (the first backend's fields, and all), else tables. */
export async function runOnBackends<T extends object>(
  script: string,
  measure: (backend: BackendName) => Promise<T>,
  print: (result: T) => void,
): Promise<void> {
  const results = await perBackend(script, measure);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ ...results[0], backends: results }, null, 2));
    return;
  }
  for (const r of results) print(r);
}

/** Sizes of the OPT-shaped models the benchmarks train. */
export interface OptShape {
  readonly layers: number;
  readonly hidden: number;
  readonly ffn: number;
  readonly heads: number;
  readonly vocab: number;
}

/** A Hugging Face OPT config.json of the given sizes. */
export function optConfig(s: OptShape) {
  return {
    model_type: 'opt',
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    ffn_dim: s.ffn,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    max_position_embeddings: 512,
  };
}

/** A fixed batch of token ids [batch, seq] (a deterministic pattern) with a full attention mask. */
export function tokenBatch(s: { readonly batch: number; readonly seq: number; readonly vocab: number }) {
  const rows = Array.from({ length: s.batch }, (_, r) =>
    Array.from({ length: s.seq }, (_, t) => (r * 131 + t * 17) % s.vocab),
  );
  return { ids: tf.tensor2d(rows, undefined, 'int32'), mask: tf.ones([s.batch, s.seq]) as tf.Tensor2D };
}
