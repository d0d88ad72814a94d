/**
 * Selective-backpropagation benchmark on the active backend: a small OPT-shaped model, full
 * fine-tuning against GreenTrainer selections at ρ ∈ {0.4, 0.5, 0.7} (one fixed importance vector,
 * so runs are comparable), with the modeled FLOPs ratio, the executed FLOPs ratio (kernels
 * counted by tf.profile) and the wall-time ratio of a training step (AdamW included) side by side;
 * and the time of one re-selection (importance + DP) in training steps.
 *
 *   npm run bench:selective                a table (batch 4 × 512 tokens, the paper's setup)
 *   npm run bench:selective -- --seq 128   4 × 128 tokens
 *   npm run bench:selective -- --json      one JSON object
 */

import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '../src/backend/select.js';
import { profileFlops } from '../src/greentrainer/flops.js';
import { backwardBudget } from '../src/greentrainer/rho.js';
import { frozenBlocks, maskFlops } from '../src/greentrainer/schemes.js';
import { selectTensors } from '../src/greentrainer/selector.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { AdamW } from '../src/train/adamw.js';
import { executedFlops } from '../src/train/flops-audit.js';
import { tensorImportance } from '../src/train/importance.js';
import { benchArgs } from './args.js';
import { median, optConfig, runOnBackends, tokenBatch } from './harness.js';

const flags = benchArgs(
  `npm run bench:selective [-- --seq N] [-- --json]: full fine-tuning against GreenTrainer selections at
ρ 0.4 / 0.5 / 0.7 on a small OPT-shaped model: modeled FLOPs, executed FLOPs and step-time ratios.
  --seq N  tokens per sequence (default 512, the paper's; batch 4)
  --json   one JSON object instead of the tables`,
  { seq: { type: 'string' }, json: { type: 'boolean' } },
);

const ROUNDS = 7;

/**
 * Tokens per sequence: the paper's 512 (its inputs are truncated to 512 tokens, batch 4) unless
 * `--seq N`. At fewer tokens per step AdamW weighs more: its element-wise passes over every
 * trained weight cost the same however many tokens a step has, and FLOPs do not count them.
 */
function sequenceLength(): number {
  if (flags.seq === undefined) return 512;
  const n = Number(flags.seq);
  if (!Number.isInteger(n) || n < 8)
    throw new Error(`--seq takes a whole number of tokens ≥ 8, not '${flags.seq}'`);
  return n;
}

// Proportioned like the paper's models: the output projection is ~8 % of the forward FLOPs here
// (5 % in OPT-2.7B); a smaller, vocabulary-heavy model leaves nothing trainable at low ρ.
const SHAPE = { layers: 8, hidden: 256, ffn: 1024, heads: 4, vocab: 2048, seq: sequenceLength(), batch: 4 };
const CONFIG = optConfig(SHAPE);
const LR = 2e-5;

async function measure(name: BackendName) {
  const backend = await initBackend({ backend: name });
  const model = CausalLM.random(CONFIG, 'bench', 1);
  const { ids, mask } = tokenBatch(SHAPE);
  const lossOf = (names: readonly string[]) => {
    // As the trainer runs it: the blocks below the deepest trained tensor off the gradient tape.
    const frozenLayers = frozenBlocks(model.spec, names);
    return () => model.loss(ids, mask, ids, { frozenLayers });
  };
  const profile = profileFlops(model.spec, { batch: SHAPE.batch, inputLength: SHAPE.seq, outputLength: 0 });
  const names = profile.tensors.map((t) => t.name);
  const optimizer = new AdamW();

  /** One training step of the tensors in `m`: gradients of those only, then AdamW. */
  const step = (m: ArrayLike<number>) => {
    const chosen = names.filter((_, k) => m[k]);
    const vars = chosen.map((n) => model.params.get(n));
    const { value, grads } = tf.variableGrads(lossOf(chosen), vars);
    value.dataSync();
    optimizer.step(
      chosen.map((name, k) => ({ name, variable: vars[k]!, gradient: grads[vars[k]!.name]! })),
      LR,
    );
    tf.dispose([value, ...Object.values(grads)]);
  };
  /**
   * Median step time of each mask, timed round-robin (full, ρ 0.4, 0.5, 0.7, full, …) so that a
   * slow spell of this shared machine weighs on every mask alike, not on one.
   */
  const timeRoundRobin = (masks: ReadonlyArray<ArrayLike<number>>, rounds = ROUNDS) => {
    for (const m of masks) step(m);
    const samples = masks.map((): number[] => []);
    for (let r = 0; r < rounds; r++) {
      masks.forEach((m, k) => {
        const t0 = performance.now();
        step(m);
        samples[k]!.push(performance.now() - t0);
      });
    }
    return samples.map(median);
  };
  const executed = async (m: ArrayLike<number>) => {
    const chosen = names.filter((_, k) => m[k]);
    const vars = chosen.map((n) => model.params.get(n));
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(lossOf(chosen), vars);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    });
    return executedFlops(info.kernels).total;
  };

  // One importance evaluation over every tensor (the most a re-selection scores): that and the DP
  // make a re-selection. Timed once warm, as a re-selection runs mid-training; the median of 3.
  const full = names.map(() => 1);
  step(full);
  const evaluate = () =>
    tensorImportance({
      tensors: new Map(names.map((n) => [n, model.params.get(n)])),
      losses: [lossOf(names)],
      optimizer,
      lr: LR,
    });
  evaluate();
  let scores = new Map<string, number>();
  const importanceMs = median(
    [0, 1, 2].map(() => {
      const t0 = performance.now();
      scores = evaluate();
      return performance.now() - t0;
    }),
  );
  const importance = names.map((n) => scores.get(n)!);
  const tDy = profile.tensors.map((t) => t.tDy);
  const tDw = profile.tensors.map((t) => t.tDw);

  const fullExecuted = await executed(full);
  const out: Array<{
    rho: number;
    tensors: number;
    modeled_ratio: number;
    executed_ratio: number;
    time_ratio: number;
    step_ms: number;
  }> = [];
  let dpMs = 0;
  const selections = [0.4, 0.5, 0.7].map((rho) => {
    const d0 = performance.now();
    const selection = selectTensors({
      tDy,
      tDw,
      importance,
      budget: backwardBudget(rho, profile.forward, profile.backward),
    });
    dpMs = Math.max(dpMs, performance.now() - d0);
    if (selection.status !== 'selected') throw new Error(`ρ ${rho}: ${selection.status}`);
    return { rho, selection };
  });
  const [fullMs, ...times] = timeRoundRobin([full, ...selections.map((x) => x.selection.mask)]) as [
    number,
    ...number[],
  ];
  for (const [k, { rho, selection }] of selections.entries()) {
    const ms = times[k]!;
    out.push({
      rho,
      tensors: selection.mask.reduce((a, b) => a + b, 0),
      modeled_ratio: maskFlops(profile, selection.mask).flops / profile.full,
      executed_ratio: (await executed(selection.mask)) / fullExecuted,
      time_ratio: ms / fullMs,
      step_ms: ms,
    });
  }
  const result = {
    backend: backend.name,
    model: `OPT-shaped, ${SHAPE.layers} layers, d ${SHAPE.hidden}, FFN ${SHAPE.ffn}, vocab ${SHAPE.vocab}, batch ${SHAPE.batch} × ${SHAPE.seq}`,
    full_step_ms: fullMs,
    rows: out,
    reselection_ms: importanceMs + dpMs,
    reselection_steps: (importanceMs + dpMs) / fullMs,
    tensors: names.length,
  };
  model.dispose();
  optimizer.dispose();
  tf.dispose([ids, mask]);
  return result;
}

function print(result: Awaited<ReturnType<typeof measure>>): void {
  const out = result.rows;
  console.log(
    `selective backprop on ${result.backend}: ${result.model}; full FT step ${result.full_step_ms.toFixed(0)} ms (medians of ${ROUNDS} round-robin rounds)\n`,
  );
  console.log('   ρ  tensors  modeled FLOPs  executed FLOPs  wall time  |time − modeled|');
  for (const r of out) {
    console.log(
      `${r.rho.toFixed(1).padStart(4)} ${String(r.tensors).padStart(8)} ${r.modeled_ratio.toFixed(3).padStart(14)} ${r.executed_ratio.toFixed(3).padStart(15)} ${r.time_ratio.toFixed(3).padStart(10)} ${Math.abs(
        r.time_ratio - r.modeled_ratio,
      )
        .toFixed(3)
        .padStart(16)}`,
    );
  }
  console.log(
    `\none re-selection (importance over all ${result.tensors} tensors + DP): ${result.reselection_ms.toFixed(0)} ms = ${result.reselection_steps.toFixed(2)} full-FT steps\n`,
  );
}

await runOnBackends(fileURLToPath(import.meta.url), measure, print);
