/**
 * The data an architecture hands to the FLOPs model: the operators of one training step and the
 * backward tape that orders them from the loss down to the input.
 *
 * Every operator is plain data keyed by `kind` (like tfjs gradients keyed by kernel name); the
 * FLOPs of each kind live in `flops.ts`. An architecture never computes FLOPs itself.
 */

/** Which token stream an operator runs over: decoder-only models have one; T5 has two. */
export type Stream = 'encoder' | 'decoder';

/** How a linear layer stores its weight in the Hugging Face checkpoint. */
export type WeightLayout = 'out_in' | 'in_out';

export type Activation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu';

interface OpBase {
  /** Module path in the Hugging Face model, e.g. `model.decoder.layers.3.self_attn.q_proj`. */
  readonly id: string;
  /** Token stream the operator's rows belong to. */
  readonly stream: Stream;
}

/** y = x·W (+ b). `weight` may name a tensor owned by another operator (tied embeddings). */
export interface LinearOp extends OpBase {
  readonly kind: 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: string;
  readonly bias?: string;
}

/** Table lookup (token or learned position embedding). */
export interface EmbeddingOp extends OpBase {
  readonly kind: 'embedding';
  readonly dim: number;
  readonly weight: string;
}

/** LayerNorm (weight γ and bias β) or RMSNorm (weight only). */
export interface NormOp extends OpBase {
  readonly kind: 'norm';
  readonly variant: 'layernorm' | 'rmsnorm';
  readonly dim: number;
  readonly weight: string;
  readonly bias?: string;
}

/**
 * The weightless core of attention: softmax(Q·Kᵀ·scale + bias)·V. Its backward splits into the
 * part each input needs (see `AttentionPart`), so that a mask training only W_V pays for dV alone,
 * as autograd does.
 */
export interface AttentionOp extends OpBase {
  readonly kind: 'attention';
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Stream of the keys and values (the encoder's, for cross-attention). */
  readonly keyStream: Stream;
  /** Scores are multiplied by 1/√headDim (T5 folds this into its weights). */
  readonly scaled: boolean;
  /** Scores get a causal or padding mask added. */
  readonly masked: boolean;
  /** Additive position bias: ALiBi (constant) or T5's learned relative bias (a tensor). */
  readonly positionBias?: { readonly type: 'alibi' } | { readonly type: 'relative'; readonly weight: string };
  /** Rotary position embedding applied to Q and K. */
  readonly rotary: boolean;
  /** Trainable key/value prefix positions prepended to the keys (prefix tuning). */
  readonly prefixLength?: number;
}

/** Element-wise non-linearity between two dense layers. */
export interface ActivationOp extends OpBase {
  readonly kind: 'activation';
  readonly fn: Activation;
  readonly dim: number;
}

/** Gated linear unit: h = act(gate) ⊙ up (T5 gated-gelu, Llama SwiGLU). */
export interface GluOp extends OpBase {
  readonly kind: 'glu';
  readonly fn: Activation;
  readonly dim: number;
}

/** Residual addition. Its backward is the identity and costs nothing. */
export interface AddOp extends OpBase {
  readonly kind: 'add';
  readonly dim: number;
}

/** A value read by `fanout` consumers: backward accumulates their gradients. */
export interface ForkOp extends OpBase {
  readonly kind: 'fork';
  readonly dim: number;
  readonly fanout: number;
}

/** Softmax cross-entropy over the vocabulary, on every position of the stream. */
export interface LossOp extends OpBase {
  readonly kind: 'loss';
  readonly vocab: number;
}

export type Op =
  | LinearOp
  | EmbeddingOp
  | NormOp
  | AttentionOp
  | ActivationOp
  | GluOp
  | AddOp
  | ForkOp
  | LossOp;
export type OpKind = Op['kind'];

/**
 * Which slice of an operator's input gradient a dx entry computes. Attention: `v` is dV = Pᵀ·dO;
 * `q` is dP, the softmax backward and dQ; `k` is dK (it reuses dS from `q`). GLU: `up` is
 * dy ⊙ act(gate); `gate` is dy ⊙ up ⊙ act'(gate).
 */
export type AttentionPart = 'v' | 'q' | 'k';
export type GluPart = 'up' | 'gate';

/** One step of the backward pass, in the order backpropagation reaches it. */
export type TapeEntry =
  | { readonly type: 'dx'; readonly op: Op; readonly part?: AttentionPart | GluPart }
  | { readonly type: 'dw'; readonly op: Op; readonly tensor: string; readonly param: 'weight' | 'bias' };

/** A trainable tensor as the Hugging Face checkpoint names and shapes it. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Operator kind and parameter, e.g. `linear.weight`, `norm.bias`, `embedding.weight`. */
  readonly kind: string;
  /** Coarse layer label for reports and heatmaps: `decoder.3`, `encoder.0`, `embeddings`, `head`. */
  readonly layer: string;
  /** For linear weights: `out_in` (nn.Linear) or `in_out` (GPT-2's Conv1D) in the checkpoint. */
  readonly layout?: WeightLayout;
}

/** Everything the FLOPs model and the schemes need to know about one architecture. */
export interface ModelSpec {
  readonly modelType: string;
  readonly encoderDecoder: boolean;
  /** The backward pass, from the loss (index 0) to the input. */
  readonly tape: readonly TapeEntry[];
  /** Every trainable tensor, keyed by checkpoint name. */
  readonly tensors: ReadonlyMap<string, TensorSpec>;
  /** The tensor the output projection multiplies by (the tied embedding where tied). */
  readonly outputEmbedding: string;
  /** Names of the tensors of the layer just below the output embedding (final norm, projection). */
  readonly topLayer: readonly string[];
  /** Linear ops LoRA adapts: W_Q and W_V (or the fused QKV projection). */
  readonly loraTargets: readonly LinearOp[];
  /** Attention ops that receive trainable prefixes in prefix tuning. */
  readonly prefixTargets: readonly AttentionOp[];
}

/** The shape of one training step: batch and sequence lengths in tokens. */
export interface Workload {
  readonly batch: number;
  readonly inputLength: number;
  readonly outputLength: number;
}
