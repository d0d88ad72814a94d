/**
 * Per-step FLOPs of the fine-tuning schemes the paper compares (§4): full fine-tuning, FT-Top2,
 * LoRA, prefix tuning, and any tensor mask (GreenTrainer's selection).
 *
 * Optimizer updates are not counted for any scheme (the paper does not either); they scale with
 * the trainable parameters, not the tokens.
 */
import type { FlopsProfile } from './flops.js';
import { profileFlops, stepShape } from './flops.js';
import type { AttentionOp, ModelSpec, TapeEntry } from './graph.js';
import { selectionCost } from './selector.js';

export interface SchemeFlops {
  /** FLOPs of one training step. */
  readonly flops: number;
  readonly forward: number;
  readonly backward: number;
  /** 1 − flops / full fine-tuning's flops. */
  readonly reduction: number;
}

function scheme(profile: FlopsProfile, forward: number, backward: number): SchemeFlops {
  const flops = forward + backward;
  return { flops, forward, backward, reduction: 1 - flops / profile.full };
}

export function fullFineTuning(profile: FlopsProfile): SchemeFlops {
  return scheme(profile, profile.forward, profile.backward);
}

/** FLOPs of training exactly the tensors in `mask` (backpropagation order). */
export function maskFlops(profile: FlopsProfile, mask: ArrayLike<number>): SchemeFlops {
  const tDy = profile.tensors.map((t) => t.tDy);
  const tDw = profile.tensors.map((t) => t.tDw);
  return scheme(profile, profile.forward, selectionCost(tDy, tDw, mask));
}

/**
 * FLOPs of one importance pass over a batch (paper §3.2): the forward, and the backward that gives
 * each of the first `scored` tensors (backpropagation order) its gradient — the cost of training
 * all of them for one step.
 */
export function importanceFlops(profile: FlopsProfile, scored: number): number {
  return scored > 0
    ? maskFlops(
        profile,
        profile.tensors.map((_, k) => (k < scored ? 1 : 0)),
      ).flops
    : 0;
}

/**
 * The paper's FT-Top2: the output embedding and the layer just below it (the final norm). Where
 * the output embedding is tied to the input embedding, training it trains the input embedding too,
 * so its gradient needs the whole backward chain.
 */
export function top2Mask(spec: ModelSpec, profile: FlopsProfile): Uint8Array {
  const names = new Set([spec.outputEmbedding, ...spec.topLayer]);
  return Uint8Array.from(profile.tensors, (t) => (names.has(t.name) ? 1 : 0));
}

export function top2(spec: ModelSpec, profile: FlopsProfile): SchemeFlops {
  return maskFlops(profile, top2Mask(spec, profile));
}

/** Default LoRA rank, as the paper (after Hu et al., 2021). */
export const DEFAULT_LORA_RANK = 8;

/**
 * LoRA of rank r on W_Q and W_V (the fused QKV projection where a model fuses them): the frozen
 * model's forward plus x·A·B for every adapter; backward down to the deepest adapted projection
 * (its output gradient), no dw for frozen weights, and per adapter dB, d(x·A), dA and its share
 * of the input gradient.
 */
export function lora(spec: ModelSpec, profile: FlopsProfile, rank = DEFAULT_LORA_RANK): SchemeFlops {
  const x = stepShape(spec, profile.workload);
  let forward = profile.forward;
  let adapters = 0;
  for (const op of spec.loraTargets) {
    const n = x.tokens(op.stream);
    const { inFeatures: i, outFeatures: o } = op;
    forward += 2 * n * rank * (i + o) + n * o;
    adapters += 2 * n * rank * o + 2 * n * rank * o + 2 * n * i * rank + 2 * n * rank * i + n * i;
  }
  const targets = new Set<unknown>(spec.loraTargets);
  const deepest = lastIndex(spec.tape, (e) => e.type === 'dw' && e.param === 'weight' && targets.has(e.op));
  return scheme(profile, forward, profile.dyBefore[deepest]! + adapters);
}

/** The largest LoRA rank the model takes: the smallest dimension of its target weights. */
export function maxLoraRank(spec: ModelSpec): number {
  return Math.min(...spec.loraTargets.map((op) => Math.min(op.inFeatures, op.outFeatures)));
}

/** Default number of prefix positions per attention layer. */
export const DEFAULT_PREFIX_LENGTH = 10;

/**
 * Prefix tuning (Li & Liang, 2021): `length` trainable key/value positions prepended in every
 * targeted attention layer (every block; decoder self-attention only for T5). The frozen model
 * runs with the longer keys; backward runs down to the deepest prefixed attention, through its
 * dK (the prefix keys' gradient), and computes no dw. The deepest layer's dV and dK for the real
 * tokens are counted although only the prefix rows are needed: an upper bound by one attention
 * matmul pair of one layer.
 */
export function prefixTuning(
  spec: ModelSpec,
  profile: FlopsProfile,
  length = DEFAULT_PREFIX_LENGTH,
): SchemeFlops {
  const prefixed = new Map<AttentionOp, AttentionOp>(
    spec.prefixTargets.map((op) => [op, { ...op, prefixLength: length }]),
  );
  const swap = (e: TapeEntry): TapeEntry => {
    const op = e.op.kind === 'attention' ? prefixed.get(e.op) : undefined;
    return op ? { ...e, op } : e;
  };
  const tape = spec.tape.map(swap);
  const tuned = profileFlops({ ...spec, tape }, profile.workload);
  const targets = new Set<unknown>(prefixed.values());
  const k = lastIndex(tape, (e) => e.type === 'dx' && e.part === 'k' && targets.has(e.op));
  return scheme(profile, tuned.forward, tuned.dyBefore[k + 1]!);
}

function lastIndex(tape: readonly TapeEntry[], pred: (e: TapeEntry) => boolean): number {
  for (let i = tape.length - 1; i >= 0; i--) if (pred(tape[i]!)) return i;
  throw new Error('no tape entry matches the scheme');
}

/**
 * How many decoder blocks, counted from the input, hold none of `names`: blocks that backpropagation
 * for those tensors never reaches, so training can run them outside the gradient tape. 0 when a name
 * is not one of the model's tensors (adapters, prefixes), for embeddings, and for encoder-decoder
 * models (whose stacks are not split).
 */
export function frozenBlocks(spec: ModelSpec, names: Iterable<string>): number {
  if (spec.encoderDecoder) return 0;
  const block = (layer: string) => /^decoder\.(\d+)$/.exec(layer)?.[1];
  let lowest = new Set([...spec.tensors.values()].map((t) => block(t.layer)).filter((b) => b !== undefined))
    .size;
  for (const name of names) {
    const layer = spec.tensors.get(name)?.layer;
    const b = layer === undefined ? undefined : block(layer);
    if (b !== undefined) lowest = Math.min(lowest, Number(b));
    else if (layer !== 'final' && layer !== 'head') return 0;
  }
  return lowest;
}
