/**
 * Memory a training run needs, estimated before anything is loaded, so a model that cannot fit
 * (the wasm backend addresses at most 4 GiB) fails at once with the numbers, not after minutes of
 * loading with an out-of-memory abort.
 *
 * float32 throughout. On wasm, XNNPACK keeps a packed copy of every weight used as a matMul
 * operand (../shared/research/tfjs-feasibility.md §2.1), so weights count twice there.
 * Activations are those the tape keeps for the backward pass: per layer about 16 values per
 * hidden unit and 2 per FFN unit and token, 3 per attention score, plus 3 per logit. Transients
 * are the copies the largest tensor goes through in one step (a tied output projection: its
 * transpose, that transpose's packed copy, its gradient, the gradient transposed back, the lookup
 * gradient, their sum): 6 × the largest tensor. The wasm heap only grows and fragments, so its
 * total is scaled by 1.5. Calibration, measured here: GPT-2 small (124 M), full fine-tuning with a
 * per-tensor SGD update, batch 1 × 128 on wasm, peaked at a 3.73 GiB heap; this estimates 3.75.
 */
import type { ModelSpec, TensorSpec } from '../greentrainer/graph.js';

const FLOAT = 4;
/** The wasm heap only grows, and its allocator fragments: see the calibration above. */
const WASM_HEAP_FACTOR = 1.5;

export interface MemoryEstimate {
  readonly weightsBytes: number;
  /** XNNPACK's packed copies on wasm; 0 elsewhere. */
  readonly packedBytes: number;
  readonly gradientsBytes: number;
  /** Adam's two moments per trainable value. */
  readonly optimizerBytes: number;
  readonly activationsBytes: number;
  readonly transientBytes: number;
  readonly totalBytes: number;
}

export interface MemoryShape {
  readonly layers: number;
  readonly hidden: number;
  readonly ffn: number;
  readonly heads: number;
  readonly vocab: number;
}

/** The sizes that drive activation memory, read off a model's backward tape. */
export function memoryShape(spec: ModelSpec): MemoryShape {
  const ops = spec.tape.map((e) => e.op);
  const attention = [...new Set(ops.filter((o) => o.kind === 'attention'))];
  const widths = ops.flatMap((o) => (o.kind === 'activation' || o.kind === 'glu' ? [o.dim] : []));
  const loss = ops.find((o) => o.kind === 'loss');
  const first = attention[0];
  return {
    layers: attention.length,
    hidden: first ? first.heads * first.headDim : 0,
    ffn: Math.max(0, ...widths),
    heads: first?.heads ?? 0,
    vocab: loss?.kind === 'loss' ? loss.vocab : 0,
  };
}

export interface MemoryRequest {
  readonly tensors: readonly TensorSpec[];
  /** Names of the tensors that train; all of them for full fine-tuning. */
  readonly trainable: ReadonlySet<string>;
  /** Whether the optimizer keeps two moments per value (Adam); false for plain SGD. */
  readonly adam: boolean;
  readonly shape: MemoryShape;
  readonly batch: number;
  readonly sequence: number;
  readonly packsWeights: boolean;
}

export function estimateTrainingMemory(r: MemoryRequest): MemoryEstimate {
  const size = (t: TensorSpec) => t.shape.reduce((p, d) => p * d, 1) * FLOAT;
  const weightsBytes = r.tensors.reduce((s, t) => s + size(t), 0);
  const trainableBytes = r.tensors.filter((t) => r.trainable.has(t.name)).reduce((s, t) => s + size(t), 0);
  const tokens = r.batch * r.sequence;
  const { layers, hidden, ffn, heads, vocab } = r.shape;
  const perLayer = tokens * (16 * hidden + 2 * ffn) + 3 * r.batch * heads * r.sequence ** 2;
  const activationsBytes =
    trainableBytes > 0 ? (layers * perLayer + 3 * tokens * vocab) * FLOAT : tokens * vocab * FLOAT;
  const packedBytes = r.packsWeights ? weightsBytes : 0;
  const largest = Math.max(0, ...r.tensors.filter((t) => r.trainable.has(t.name)).map(size));
  const parts = {
    weightsBytes,
    packedBytes,
    gradientsBytes: trainableBytes,
    optimizerBytes: r.adam ? 2 * trainableBytes : 0,
    activationsBytes,
    transientBytes: 6 * largest,
  };
  const sum = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, totalBytes: sum * (r.packsWeights ? WASM_HEAP_FACTOR : 1) };
}

export class MemoryBudgetError extends Error {
  override readonly name = 'MemoryBudgetError';
}

const GIB = 1024 ** 3;

/** Fails when `estimate` exceeds the backend's limit, listing where the memory goes. */
export function requireFits(
  estimate: MemoryEstimate,
  limitBytes: number,
  what: string,
  backend: string,
): void {
  if (estimate.totalBytes <= limitBytes) return;
  const g = (b: number) => (b / GIB).toFixed(2);
  throw new MemoryBudgetError(
    `${what} needs about ${g(estimate.totalBytes)} GiB (weights ${g(estimate.weightsBytes)}, packed copies ` +
      `${g(estimate.packedBytes)}, gradients ${g(estimate.gradientsBytes)}, optimizer ${g(estimate.optimizerBytes)}, ` +
      `activations ${g(estimate.activationsBytes)}, transients ${g(estimate.transientBytes)}), but the ${backend} backend addresses at most ${g(limitBytes)} GiB; ` +
      'use the native backend (greentrainer setup-native), a smaller batch or model, or train fewer tensors',
  );
}
