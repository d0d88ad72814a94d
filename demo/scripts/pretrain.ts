/**
 * Pretrains the demo model, a small OPT, on the Debian corpus with greentrainer's own stack
 * (CausalLM, AdamW, the causal LM loss), on the native backend where `setup-native` built it
 * (several times faster than wasm), else on wasm. Resumable: it checkpoints atomically every
 * 100 steps and continues from the newest checkpoint; `--minutes` bounds one sitting.
 *
 *   npm run demo:pretrain -- [--size small|large] [--steps 4000] [--minutes 60]
 *
 * `small` (the default) is demo/model, the one `npm start` fine-tunes; `large` is the study's
 * second model (issue 19), demo/model-large: 6 layers, hidden 320, 8 heads, FFN 1280, 8.7 M
 * parameters (35 MB), with demo/model's tokenizer; about 6.7× the small one's FLOPs per token.
 * Needs demo/.work/tokens.u16 and demo/model/tokenizer.json (demo/scripts/train-tokenizer.py).
 * Writes the model folder's config.json and model.safetensors at the end of every sitting.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend/select.js';
import { backendFromEnv } from '../../src/config/env.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { saveModel } from '../../src/models/checkpoint.js';
import { AdamW } from '../../src/train/adamw.js';
import { CheckpointStore } from '../../src/train/checkpoint-store.js';
import { mulberry32 } from '../../src/train/data.js';
import { linearLr } from '../../src/train/lr-schedule.js';

const ROOT = new URL('..', import.meta.url).pathname;
export const DEMO_CONFIG = {
  model_type: 'opt',
  vocab_size: 4096,
  hidden_size: 128,
  ffn_dim: 512,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  max_position_embeddings: 256,
  do_layer_norm_before: true,
  activation_function: 'relu',
  word_embed_proj_dim: 128,
  pad_token_id: 1,
  bos_token_id: 2,
  eos_token_id: 2,
  torch_dtype: 'float32',
};
/** The study's larger model: same recipe, ~6.7× the parameters outside the embedding's 4096 rows. */
export const LARGE_CONFIG = {
  ...DEMO_CONFIG,
  hidden_size: 320,
  ffn_dim: 1280,
  num_hidden_layers: 6,
  num_attention_heads: 8,
  word_embed_proj_dim: 320,
};
const SIZES = {
  small: { config: DEMO_CONFIG, folder: 'model', work: 'pretrain', lr: 2e-3 },
  large: { config: LARGE_CONFIG, folder: 'model-large', work: 'pretrain-large', lr: 1e-3 },
};
const BATCH = 16;
const CONTEXT = 128;
const HELD_OUT = 0.01;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'small' },
    steps: { type: 'string', default: '4000' },
    minutes: { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run demo:pretrain -- [--size small|large] [--steps 4000] [--minutes 60]  (resumes from its checkpoints)',
  );
  process.exit(0);
}
if (values.size !== 'small' && values.size !== 'large')
  throw new Error(`--size ${values.size}: expected small (demo/model) or large (demo/model-large)`);
const size = SIZES[values.size];
const totalSteps = Number(values.steps);
const deadline = Date.now() + Number(values.minutes) * 60_000;

const forced = backendFromEnv();
const backend = await initBackend(forced ? { backend: forced } : {});
const buf = readFileSync(join(ROOT, '.work', 'tokens.u16'));
const tokens = new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2);
const split = Math.floor(tokens.length * (1 - HELD_OUT));
console.log(`backend ${backend.name}; corpus ${tokens.length} tokens (${tokens.length - split} held out)`);

/** Window starts for a step: a pure function of the step, so a resumed run draws the same ones. */
function windows(step: number, from: number, to: number, n: number): number[][] {
  const next = mulberry32(step * 2654435761 + 12345);
  return Array.from({ length: n }, () => {
    const s = from + Math.floor(next() * (to - from - CONTEXT));
    return Array.from(tokens.subarray(s, s + CONTEXT));
  });
}

const model = CausalLM.random(size.config, 'demo', 7);
const optimizer = new AdamW({ weightDecay: 0.01 });
const store = new CheckpointStore(join(ROOT, '.work', size.work), 2);
let step = 0;
const latest = store.latest();
if (latest) {
  for (const [name, w] of latest.weights) model.params.get(name).assign(tf.tensor(w.data, w.shape));
  const steps = (latest.state as { steps: Record<string, number> }).steps;
  for (const [name, n] of Object.entries(steps)) {
    const m = latest.optimizer.get(`${name}::m`)!;
    const v = latest.optimizer.get(`${name}::v`)!;
    optimizer.load(name, tf.tensor(m.data, m.shape), tf.tensor(v.data, v.shape), n);
  }
  step = latest.step;
  console.log(`resumed from ${latest.path} at step ${step}`);
}

const schedule = { lr: size.lr, warmupSteps: 200, totalSteps };
const loss = (rows: number[][]) => {
  const ids = tf.tensor2d(rows, undefined, 'int32');
  const mask = tf.onesLike(ids).toFloat() as tf.Tensor2D;
  return { f: () => model.loss(ids, mask, ids), dispose: () => tf.dispose([ids, mask]) };
};
const heldOutLoss = () => {
  let sum = 0;
  for (let k = 0; k < 8; k++) {
    const b = loss(windows(1_000_000 + k, split, tokens.length, BATCH));
    const l = tf.tidy(b.f);
    sum += l.dataSync()[0]!;
    l.dispose();
    b.dispose();
  }
  return sum / 8;
};

function save(): void {
  const value = (name: string, t: tf.Tensor) => ({
    name,
    shape: t.shape,
    data: t.dataSync() as Float32Array,
  });
  store.save({
    step,
    weights: model.params.names().map((n) => value(n, model.params.get(n))),
    optimizer: optimizer
      .names()
      .flatMap((n) => [value(`${n}::m`, optimizer.moments(n)!.m), value(`${n}::v`, optimizer.moments(n)!.v)]),
    state: { steps: Object.fromEntries(optimizer.names().map((n) => [n, optimizer.steps(n)])) },
  });
}

const vars = model.params.list();
const names = model.params.names();
let t0 = performance.now();
let smoothed: number | undefined;
while (step < totalSteps && Date.now() < deadline) {
  const b = loss(windows(step, 0, split, BATCH));
  const { value, grads } = tf.variableGrads(b.f, vars);
  const l = value.dataSync()[0]!;
  optimizer.step(
    names.map((name, k) => ({ name, variable: vars[k]!, gradient: grads[vars[k]!.name]! })),
    linearLr(schedule, step),
  );
  tf.dispose([value, ...Object.values(grads)]);
  b.dispose();
  step++;
  smoothed = smoothed === undefined ? l : 0.95 * smoothed + 0.05 * l;
  if (step % 25 === 0) {
    const dt = (performance.now() - t0) / 1000;
    console.log(
      `step ${step}/${totalSteps} loss ${smoothed.toFixed(3)} ${((25 * BATCH * CONTEXT) / dt).toFixed(0)} tokens/s`,
    );
    t0 = performance.now();
  }
  if (step % 100 === 0) save();
}
save();
const held = heldOutLoss();
console.log(
  `step ${step}: train loss (smoothed) ${smoothed?.toFixed(3)}, held-out loss ${held.toFixed(3)}; tokens seen ${step * BATCH * CONTEXT}`,
);
const out = join(ROOT, size.folder);
saveModel(model, size.config, out);
if (size.folder !== 'model')
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(ROOT, 'model', f), join(out, f));
if (!existsSync(join(out, 'tokenizer.json'))) console.warn(`${out}/tokenizer.json is missing`);
console.log(`saved ${out}`);
