/**
 * Re-selection FLOPs of the GreenTrainer runs in docs/results.md, recomputed without training.
 * The trainer re-selects at steps 0, interval, 2·interval, …; each time it scores the tensors above
 * the early-stop depth for its ρ (Eq. 12, on the job's mean-length FLOPs profile) on
 * `importance_batches` batches starting at that step's own, and a pass costs `importanceFlops` at
 * the batch's real shape — what `TrainingRun` now reports. The table's runs predate that count, so
 * their FLOPs saved were gross; this prints the share of full fine-tuning that re-selection took.
 *
 *   npx tsx bench/reselection-flops.ts [--steps 400] [--interval 100]
 */
import { join } from 'node:path';
import { initBackend } from '../src/backend/select.js';
import { profileFlops } from '../src/greentrainer/flops.js';
import { backwardBudget, earlyStopDepth } from '../src/greentrainer/rho.js';
import { importanceFlops } from '../src/greentrainer/schemes.js';
import { loadCausalLM } from '../src/models/checkpoint.js';
import { TextTokenizer } from '../src/models/tokenizer.js';
import { BatchStream } from '../src/train/batches.js';
import { encodeCausal } from '../src/train/data.js';
import { encodeOptions, JobConfig } from '../src/train/job.js';
import { loadSplits } from '../src/train/splits.js';
import { benchArgs } from './args.js';

const ROOT = new URL('..', import.meta.url).pathname;
const values = benchArgs(
  `npx tsx bench/reselection-flops.ts [--steps 400] [--interval 100]: the share of full fine-tuning's FLOPs
that re-selection (importance passes) took in docs/results.md's one-seed GreenTrainer runs, recomputed
without training.
  --steps N     optimizer steps of the run (default 400)
  --interval N  steps between re-selections (default 100)`,
  { steps: { type: 'string', default: '400' }, interval: { type: 'string', default: '100' } },
);
const steps = Number(values.steps);
const interval = Number(values.interval);

// The experiment's job (bench/experiment.ts): batch 4, seed 1, inputs ≤ 160 and outputs ≤ 24 tokens.
const job = JobConfig.parse({
  name: 'reselection',
  model: join(ROOT, 'demo/model'),
  dataset: { path: join(ROOT, 'demo/data') },
  train: {
    epochs: 1,
    max_steps: steps,
    batch_size: 4,
    lr: 5e-4,
    max_input_length: 160,
    max_output_length: 24,
  },
  selection: { interval_steps: interval },
  output: join(ROOT, 'demo/.work/reselection'),
});
// The weights are loaded (and ignored) for the model's spec: any backend will do.
await initBackend({});
const tok = TextTokenizer.load(job.model);
const model = loadCausalLM(job.model);
const splits = loadSplits(job.dataset);
const train = splits.train.map((e) =>
  encodeCausal(e, tok, encodeOptions(job, tok.eosId!, splits.task, model.spec.encoderDecoder)),
);
const shapeOf = (idx: number[]) =>
  profileFlops(model.spec, {
    batch: idx.length,
    inputLength: Math.max(...idx.map((i) => train[i]!.ids.length)),
    outputLength: 0,
  });
const meanLength = Math.round(train.reduce((a, s) => a + s.ids.length, 0) / train.length);
const profile = profileFlops(model.spec, {
  batch: job.train.batch_size,
  inputLength: meanLength,
  outputLength: 0,
});

const stream = new BatchStream(train.length, job.train.batch_size, job.train.seed);
let full = 0;
const scoredOn: number[][][] = [];
for (let step = 0; step < steps; step++) {
  if (step % interval === 0) scoredOn.push(stream.peek(job.selection.importance_batches));
  full += shapeOf(stream.next()).full;
}
console.log(
  `${steps} steps, re-selection every ${interval}: full fine-tuning ${(full / 1e12).toFixed(3)} TFLOP`,
);
console.log('ρ     scored tensors  re-selection (TFLOP)  share of full FT');
for (const rho of [0.5, 0.6, 0.7]) {
  const depth = earlyStopDepth(
    profile.tensors.map((t) => t.tDy),
    backwardBudget(rho, profile.forward, profile.backward),
  );
  const flops = scoredOn.flat().reduce((a, idx) => a + importanceFlops(shapeOf(idx), depth), 0);
  console.log(
    `${rho.toFixed(1)}   ${String(depth).padStart(14)}  ${(flops / 1e12).toFixed(4).padStart(20)}  ${((flops / full) * 100).toFixed(2).padStart(14)} %`,
  );
}
model.dispose();
