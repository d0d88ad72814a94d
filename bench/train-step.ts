/**
 * Training-step benchmark on the active backend: the plain 2-D matMul rate at the model's own
 * shapes, then one forward and one forward + backward step of full fine-tuning of a small
 * OPT-shaped model, with its achieved FLOP rate from the FLOPs model.
 *
 *   npm run bench:train-step            a table
 *   npm run bench:train-step -- --json  one JSON object
 *   GREENTRAINER_BACKEND=cpu npm run bench:train-step
 */

import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../src/backend/select.js';
import { profileFlops } from '../src/greentrainer/flops.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { benchArgs } from './args.js';
import { median, optConfig, runOnBackends, tokenBatch } from './harness.js';

benchArgs(
  `npm run bench:train-step [-- --json]: matMul rate, forward and forward + backward of full fine-tuning on a
small OPT-shaped model, on every backend this machine has (GREENTRAINER_BACKEND=... for one).
  --json   one JSON object instead of the tables`,
  { json: { type: 'boolean' } },
);

const SHAPE = { layers: 4, hidden: 256, ffn: 1024, heads: 4, vocab: 8192, seq: 128, batch: 4 };
const CONFIG = optConfig(SHAPE);

/** Median wall time of `f` in ms over `repeats` runs after one warm-up; `f` must read its result back. */
function time(f: () => void, repeats: number): number {
  f();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    f();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

/** GFLOP/s of a plain [m, k]·[k, n] product, the model's dense layers being such products. */
function matMulRate(): number {
  const rows = SHAPE.batch * SHAPE.seq;
  const shapes: Array<[number, number]> = [
    [SHAPE.hidden, SHAPE.hidden],
    [SHAPE.hidden, SHAPE.ffn],
    [SHAPE.ffn, SHAPE.hidden],
    [SHAPE.hidden, SHAPE.vocab],
  ];
  let flops = 0;
  let ms = 0;
  for (const [k, n] of shapes) {
    const a = tf.randomNormal([rows, k]) as tf.Tensor2D;
    const b = tf.randomNormal([k, n]) as tf.Tensor2D;
    ms += time(() => tf.tidy(() => tf.matMul(a, b)).dataSync(), 5);
    flops += 2 * rows * k * n;
    tf.dispose([a, b]);
  }
  return flops / ms / 1e6;
}

async function measure(name: BackendName) {
  const backend = await initBackend({ backend: name });
  const model = CausalLM.random(CONFIG, 'bench', 1);
  const { ids, mask } = tokenBatch(SHAPE);
  const vars = model.params.list();

  const matmulGflops = matMulRate();
  const forwardMs = time(() => tf.tidy(() => model.loss(ids, mask, ids)).dataSync(), 5);
  const stepMs = time(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(ids, mask, ids), vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  }, 5);
  const flops = profileFlops(model.spec, { batch: SHAPE.batch, inputLength: SHAPE.seq, outputLength: 0 });
  const stepGflops = flops.full / stepMs / 1e6;
  const result = {
    backend: backend.name,
    model: `OPT-shaped, ${SHAPE.layers} layers, d ${SHAPE.hidden}, FFN ${SHAPE.ffn}, vocab ${SHAPE.vocab}, batch ${SHAPE.batch} × ${SHAPE.seq}`,
    matmul_gflops: matmulGflops,
    forward_ms: forwardMs,
    step_ms: stepMs,
    backward_over_forward: (stepMs - forwardMs) / forwardMs,
    step_gflops: stepGflops,
    ratio: stepGflops / matmulGflops,
    modeled_backward_over_forward: flops.backward / flops.forward,
  };
  model.dispose();
  tf.dispose([ids, mask]);
  return result;
}

function print(result: Awaited<ReturnType<typeof measure>>): void {
  console.log(`train step on ${result.backend}: ${result.model} (median of 5 runs)\n`);
  const rowsOut: Array<[string, string]> = [
    ['plain matMul rate at the model shapes', `${result.matmul_gflops.toFixed(1)} GFLOP/s`],
    ['forward (loss)', `${result.forward_ms.toFixed(1)} ms`],
    ['forward + backward (full fine-tuning)', `${result.step_ms.toFixed(1)} ms`],
    [
      'backward ÷ forward, measured (modeled)',
      `${result.backward_over_forward.toFixed(2)} (${result.modeled_backward_over_forward.toFixed(2)})`,
    ],
    ['step rate from the FLOPs model', `${result.step_gflops.toFixed(1)} GFLOP/s`],
    ['step rate ÷ matMul rate', `${(100 * result.ratio).toFixed(0)} %`],
  ];
  for (const [k, v] of rowsOut) console.log(`${k.padEnd(42)} ${v}`);
  console.log();
}

await runOnBackends(fileURLToPath(import.meta.url), measure, print);
