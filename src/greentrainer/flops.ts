/**
 * Tensor-level FLOPs model (paper §3.1): per-tensor (t_dy, t_dw) and the forward FLOPs T_fp of one
 * training step, from a model's backward tape.
 *
 * Conventions:
 * - A multiply-add counts 2 FLOPs (the paper's tables count 1; ratios are unchanged).
 * - Element-wise work counts the arithmetic operations of its reference formula per element, a
 *   transcendental (exp, tanh, erf, rsqrt) counting 1; the table `ELEMENTWISE` holds the counts.
 * - Every position of a stream runs through every layer, the output projection and the loss, as
 *   Hugging Face computes logits for the whole sequence.
 *
 * Invariant (what makes the chain model exact): t_dy[k] is the FLOPs of every input gradient that
 * backpropagation computes after the previous tensor's dw and before tensor k's dw, i.e. the work
 * between the two points, not the dy of tensor k itself. Then
 *   cost(m) = T_fp + Σ_k m_k·t_dw[k] + Σ_{k ≤ deepest selected} t_dy[k]
 * is what an autograd that prunes unused gradients runs (tfjs's tape does; see
 * ../shared/research/tfjs-feasibility.md §1): nothing below the deepest selected tensor, and no dx
 * for the input of that tensor's own operator. A tensor used by several operators (tied
 * embeddings, T5's shared relative bias) sits where backpropagation last reaches it, and its t_dw
 * sums the weight gradients of every use.
 */
import type {
  ActivationOp,
  AddOp,
  AttentionOp,
  AttentionPart,
  EmbeddingOp,
  ForkOp,
  GluOp,
  GluPart,
  LinearOp,
  LossOp,
  ModelSpec,
  NormOp,
  Op,
  OpKind,
  Stream,
  TapeEntry,
  TensorSpec,
  Workload,
} from './graph.js';

/** Element-wise FLOPs per element: [forward, backward]. */
export const ELEMENTWISE = {
  /** mean, x−μ, (x−μ)², variance, ×rstd, ×γ, +β. Backward: dy·γ, then rstd·(g − mean g − x̂·mean(g·x̂)). */
  layernorm: [7, 8],
  /** x², mean, ×rstd, ×γ. Backward: dy·γ, then rstd·(g − x̂·mean(g·x̂)). */
  rmsnorm: [4, 6],
  /** max, x−max, exp, sum, ÷sum. Backward: P ⊙ (dP − Σ P⊙dP). */
  softmax: [5, 4],
  /** log-softmax and the pick of the target. Backward: softmax − one-hot. */
  crossEntropy: [4, 2],
  relu: [1, 1],
  /** 0.5·x·(1 + erf(x/√2)). */
  gelu: [5, 9],
  /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  gelu_tanh: [9, 14],
  /** x·σ(x). */
  silu: [5, 6],
  /** x·cos + rotate(x)·sin, per rotated element. */
  rotary: [3, 3],
} as const;

/** Token counts of the streams for one step. */
export interface StepShape {
  readonly batch: number;
  /** Sequence length of each stream. */
  length(stream: Stream): number;
  /** Rows of each stream: batch × length. */
  tokens(stream: Stream): number;
}

export function stepShape(spec: Pick<ModelSpec, 'encoderDecoder'>, w: Workload): StepShape {
  const lengths: Record<Stream, number> = spec.encoderDecoder
    ? { encoder: w.inputLength, decoder: w.outputLength }
    : { encoder: 0, decoder: w.inputLength + w.outputLength };
  return { batch: w.batch, length: (s) => lengths[s], tokens: (s) => w.batch * lengths[s] };
}

interface Rule<O extends Op> {
  forward(op: O, x: StepShape): number;
  dx(op: O, x: StepShape, part?: AttentionPart | GluPart): number;
  dw(op: O, x: StepShape, param: 'weight' | 'bias', tensor: string): number;
}

const linear: Rule<LinearOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.outFeatures * (2 * op.inFeatures + (op.bias ? 1 : 0)),
  dx: (op, x) => 2 * x.tokens(op.stream) * op.inFeatures * op.outFeatures,
  dw: (op, x, param) => x.tokens(op.stream) * op.outFeatures * (param === 'weight' ? 2 * op.inFeatures : 1),
};

/** Gather forward; its gradient is a scatter-add of one row per token. */
const embedding: Rule<EmbeddingOp> = {
  forward: () => 0,
  dx: () => 0,
  dw: (op, x) => x.tokens(op.stream) * op.dim,
};

const norm: Rule<NormOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.dim * ELEMENTWISE[op.variant][0],
  dx: (op, x) => x.tokens(op.stream) * op.dim * ELEMENTWISE[op.variant][1],
  // dγ = Σ dy ⊙ x̂ (multiply and sum); dβ = Σ dy.
  dw: (op, x, param) => x.tokens(op.stream) * op.dim * (param === 'weight' ? 2 : 1),
};

/** Score elements B·h·Tq·Tk and one score-sized matmul 2·B·h·Tq·Tk·hd. */
function attentionSizes(op: AttentionOp, x: StepShape) {
  const keys = x.length(op.keyStream) + (op.prefixLength ?? 0);
  const scores = x.batch * op.heads * x.length(op.stream) * keys;
  // Gradients of K/V heads shared by a query group are summed over the group.
  const groupSum = (op.heads - op.kvHeads) * x.batch * keys * op.headDim;
  return { scores, matmul: 2 * scores * op.headDim, groupSum };
}

const attention: Rule<AttentionOp> = {
  forward: (op, x) => {
    const { scores, matmul } = attentionSizes(op, x);
    const perScore =
      ELEMENTWISE.softmax[0] + Number(op.scaled) + Number(op.masked) + Number(!!op.positionBias);
    const rotary = op.rotary ? rotaryElements(op, x, 'q') + rotaryElements(op, x, 'k') : 0;
    return 2 * matmul + scores * perScore + rotary * ELEMENTWISE.rotary[0];
  },
  dx: (op, x, part) => {
    const { scores, matmul, groupSum } = attentionSizes(op, x);
    const rotary = (p: 'q' | 'k') => (op.rotary ? rotaryElements(op, x, p) * ELEMENTWISE.rotary[1] : 0);
    switch (part) {
      case 'v':
        return matmul + groupSum;
      case 'q':
        return 2 * matmul + scores * (ELEMENTWISE.softmax[1] + Number(op.scaled)) + rotary('q');
      case 'k':
        return matmul + groupSum + rotary('k');
      default:
        throw new Error(`attention ${op.id}: a dx entry must name its part (v, q or k), got ${part}`);
    }
  },
  // T5's relative bias: a scatter-add of every score gradient into its bucket.
  dw: (op, x) => attentionSizes(op, x).scores,
};

function rotaryElements(op: AttentionOp, x: StepShape, p: 'q' | 'k'): number {
  return p === 'q'
    ? x.tokens(op.stream) * op.heads * op.headDim
    : x.tokens(op.keyStream) * op.kvHeads * op.headDim;
}

const activation: Rule<ActivationOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.dim * ELEMENTWISE[op.fn][0],
  dx: (op, x) => x.tokens(op.stream) * op.dim * ELEMENTWISE[op.fn][1],
  dw: () => 0,
};

const glu: Rule<GluOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.dim * (ELEMENTWISE[op.fn][0] + 1),
  // up: dy ⊙ act(gate); gate: (dy ⊙ up) ⊙ act'(gate).
  dx: (op, x, part) => x.tokens(op.stream) * op.dim * (part === 'gate' ? 1 + ELEMENTWISE[op.fn][1] : 1),
  dw: () => 0,
};

const add: Rule<AddOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.dim,
  dx: () => 0,
  dw: () => 0,
};

const fork: Rule<ForkOp> = {
  forward: () => 0,
  dx: (op, x) => (op.fanout - 1) * x.tokens(op.stream) * op.dim,
  dw: () => 0,
};

const loss: Rule<LossOp> = {
  forward: (op, x) => x.tokens(op.stream) * op.vocab * ELEMENTWISE.crossEntropy[0],
  dx: (op, x) => x.tokens(op.stream) * op.vocab * ELEMENTWISE.crossEntropy[1],
  dw: () => 0,
};

/** FLOPs rules keyed by operator kind. */
const RULES: { readonly [K in OpKind]: Rule<Extract<Op, { kind: K }>> } = {
  linear,
  embedding,
  norm,
  attention,
  activation,
  glu,
  add,
  fork,
  loss,
};

function rule(op: Op): Rule<Op> {
  return RULES[op.kind] as Rule<Op>;
}

/** FLOPs of one tape entry. */
export function entryFlops(e: TapeEntry, x: StepShape): number {
  return e.type === 'dx' ? rule(e.op).dx(e.op, x, e.part) : rule(e.op).dw(e.op, x, e.param, e.tensor);
}

export interface TensorFlops extends TensorSpec {
  /** Position in backpropagation order (0 nearest the loss). */
  readonly index: number;
  /** Tape position of the tensor's (last) weight gradient. */
  readonly tapeIndex: number;
  readonly tDy: number;
  readonly tDw: number;
}

export interface FlopsProfile {
  readonly workload: Workload;
  /** T_fp: FLOPs of the forward pass. */
  readonly forward: number;
  /** T_bp: FLOPs of the backward pass of full fine-tuning, Σ t_dy + Σ t_dw. */
  readonly backward: number;
  /** T_full = T_fp + T_bp. */
  readonly full: number;
  /** Trainable tensors in backpropagation order. */
  readonly tensors: readonly TensorFlops[];
  /** dyBefore[i]: FLOPs of the input gradients on the tape before position i (length tape + 1). */
  readonly dyBefore: Float64Array;
}

/** Profiles one training step of `spec` under workload `w`. */
export function profileFlops(spec: ModelSpec, w: Workload): FlopsProfile {
  const x = stepShape(spec, w);
  const ops = new Set(spec.tape.map((e) => e.op));
  let forward = 0;
  for (const op of ops) forward += rule(op).forward(op, x);

  const dyBefore = new Float64Array(spec.tape.length + 1);
  const tDw = new Map<string, number>();
  spec.tape.forEach((e, i) => {
    const f = entryFlops(e, x);
    dyBefore[i + 1] = dyBefore[i]! + (e.type === 'dx' ? f : 0);
    if (e.type === 'dw') tDw.set(e.tensor, (tDw.get(e.tensor) ?? 0) + f);
  });

  let previous = 0;
  const tensors = tensorOrder(spec).map((t, index): TensorFlops => {
    const tDy = dyBefore[t.tapeIndex]! - dyBefore[previous]!;
    previous = t.tapeIndex;
    return { ...t, index, tDy, tDw: tDw.get(t.name)! };
  });
  const backward = tensors.reduce((s, t) => s + t.tDy + t.tDw, 0);
  return { workload: w, forward, backward, full: forward + backward, tensors, dyBefore };
}

/**
 * The trainable tensors in backpropagation order, each at the tape position where backpropagation
 * last reaches it (a tensor used by several operators completes its gradient there).
 */
export function tensorOrder(spec: ModelSpec): Array<TensorSpec & { readonly tapeIndex: number }> {
  const last = new Map<string, number>();
  spec.tape.forEach((e, i) => {
    if (e.type === 'dw') last.set(e.tensor, i);
  });
  return [...last.entries()]
    .sort((a, b) => a[1] - b[1])
    .map(([name, tapeIndex]) => {
      const t = spec.tensors.get(name);
      if (!t) throw new Error(`tape names tensor ${name}, which the model does not declare`);
      return { ...t, tapeIndex };
    });
}
