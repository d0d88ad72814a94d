/**
 * Backward tapes of the sub-layers every transformer family shares: attention (split or fused
 * Q/K/V), the feed-forward network (plain or gated), and the pre-norm residual wrapper.
 *
 * Placement rules, which make the chain model exact for autograd's pruned backward:
 * - an operator's dw entries come right after the dx entries that produce its output gradient;
 * - its dx entry comes where the first tensor below it needs that gradient;
 * - parallel branches (Q/K/V, gate/up) are ordered V, Q, K and up, gate: dV alone trains W_V,
 *   while W_Q needs the softmax backward, and W_K then only adds dK. A mask whose deepest tensor
 *   is W_K but that leaves W_V out is charged for dV it does not run: the model errs on the safe
 *   side by at most one attention matmul of one layer.
 */
import type {
  Activation,
  AttentionOp,
  EmbeddingOp,
  LinearOp,
  NormOp,
  Stream,
  WeightLayout,
} from '../graph.js';
import type { AttentionOptions, SpecBuilder } from './builder.js';

export interface SplitProjections {
  readonly type: 'split';
  /** Module ids of the Q, K and V projections. */
  readonly q: string;
  readonly k: string;
  readonly v: string;
}

export interface FusedProjection {
  readonly type: 'fused';
  /** Module id of the fused QKV projection (GPT-2 `c_attn`, BLOOM `query_key_value`). */
  readonly id: string;
}

export interface AttentionSublayer {
  readonly stream: Stream;
  readonly layer: string;
  /** Width of the residual stream. */
  readonly dim: number;
  readonly projections: SplitProjections | FusedProjection;
  readonly out: string;
  readonly bias: boolean;
  /** Bias of the output projection when it differs from the Q/K/V ones (Qwen2: Q/K/V only). */
  readonly outBias?: boolean;
  readonly layout: WeightLayout;
  /** Module id of the attention core (used for reports only). */
  readonly core: string;
  readonly attention: AttentionOptions;
  /** Cross-attention: K and V read this stream of this width; their dx are returned, not taped. */
  readonly keyValueInput?: { readonly stream: Stream; readonly dim: number };
}

export interface AttentionTape {
  readonly core: AttentionOp;
  /** Projections LoRA adapts: W_Q and W_V, or the fused projection. */
  readonly loraTargets: readonly LinearOp[];
  /** K/V projections of a cross-attention, whose dx the caller places at the encoder's output. */
  readonly deferredDx: readonly LinearOp[];
}

/** Tape of an attention sub-layer, from its output gradient down to its input gradient. */
export function attentionSublayer(b: SpecBuilder, s: AttentionSublayer): AttentionTape {
  const { heads, kvHeads, headDim } = s.attention;
  const lin = { bias: s.bias, layout: s.layout, layer: s.layer };
  const kvIn = s.keyValueInput ?? { stream: s.stream, dim: s.dim };
  const out = b.linear(s.out, s.stream, heads * headDim, s.dim, { ...lin, bias: s.outBias ?? s.bias });
  const core = b.attention(s.core, s.stream, { ...s.attention, keyStream: kvIn.stream });
  const relative = core.positionBias?.type === 'relative' ? core.positionBias.weight : undefined;

  b.through(out);
  if (s.projections.type === 'fused') {
    const qkv = b.linear(s.projections.id, s.stream, s.dim, (heads + 2 * kvHeads) * headDim, lin);
    b.dx(core, 'v');
    b.dx(core, 'q');
    if (relative) b.dwTensor(core, relative);
    b.dx(core, 'k');
    b.through(qkv);
    return { core, loraTargets: [qkv], deferredDx: [] };
  }
  const q = b.linear(s.projections.q, s.stream, s.dim, heads * headDim, lin);
  const k = b.linear(s.projections.k, kvIn.stream, kvIn.dim, kvHeads * headDim, lin);
  const v = b.linear(s.projections.v, kvIn.stream, kvIn.dim, kvHeads * headDim, lin);
  b.dx(core, 'v');
  b.dw(v);
  b.dx(core, 'q');
  if (relative) b.dwTensor(core, relative);
  b.dw(q);
  b.dx(core, 'k');
  b.dw(k);
  b.dx(q);
  if (s.keyValueInput) return { core, loraTargets: [q, v], deferredDx: [k, v] };
  b.dx(k);
  b.dx(v);
  b.fork(`${s.core}.input`, s.stream, s.dim, 3);
  return { core, loraTargets: [q, v], deferredDx: [] };
}

export interface MlpSublayer {
  readonly stream: Stream;
  readonly layer: string;
  readonly dim: number;
  readonly ffnDim: number;
  readonly fn: Activation;
  readonly bias: boolean;
  readonly layout: WeightLayout;
  /** Module ids: `up` is the first dense layer (fc1, c_fc, wi), `down` the second. */
  readonly up: string;
  readonly down: string;
  /** Gated FFN: the module id of the gate projection (wi_0, gate_proj). */
  readonly gate?: string;
  /** Module id of the activation, for reports. */
  readonly act: string;
}

/** Tape of a feed-forward sub-layer, from its output gradient down to its input gradient. */
export function mlpSublayer(b: SpecBuilder, s: MlpSublayer): void {
  const lin = { bias: s.bias, layout: s.layout, layer: s.layer };
  const down = b.linear(s.down, s.stream, s.ffnDim, s.dim, lin);
  const up = b.linear(s.up, s.stream, s.dim, s.ffnDim, lin);
  b.through(down);
  if (!s.gate) {
    b.dx(b.activation(s.act, s.stream, s.fn, s.ffnDim));
    b.through(up);
    return;
  }
  const gate = b.linear(s.gate, s.stream, s.dim, s.ffnDim, lin);
  const glu = b.glu(s.act, s.stream, s.fn, s.ffnDim);
  b.dx(glu, 'up');
  b.dw(up);
  b.dx(glu, 'gate');
  b.dw(gate);
  b.dx(up);
  b.dx(gate);
  b.fork(`${s.act}.input`, s.stream, s.dim, 2);
}

/**
 * Pre-norm residual wrapper: y = x + f(norm(x)). Tape: the residual add, f, the norm's weights and
 * its input gradient, then the accumulation of the skip and branch gradients at x.
 */
export function preNormResidual(b: SpecBuilder, norm: NormOp, id: string, inner: () => void): void {
  b.dx(b.add(`${id}.residual`, norm.stream, norm.dim));
  inner();
  b.through(norm);
  b.fork(`${id}.input`, norm.stream, norm.dim, 2);
}

/**
 * Tape of a language model's top: the cross-entropy loss, then the output projection — tied to the
 * input embedding's table unless `tied` is false, in which case it owns `lm_head.weight`.
 */
export function outputHead(
  b: SpecBuilder,
  embedding: EmbeddingOp,
  vocab: number,
  dim: number,
  tied: boolean,
): LinearOp {
  const s = embedding.stream;
  const lmHead = tied
    ? b.tiedLinear('lm_head', s, dim, vocab, embedding.weight)
    : b.linear('lm_head', s, dim, vocab, { bias: false, layout: 'out_in', layer: 'head' });
  b.dx(b.loss('loss', s, vocab));
  b.through(lmHead);
  return lmHead;
}
