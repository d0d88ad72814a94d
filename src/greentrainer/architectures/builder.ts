/**
 * Small vocabulary the architecture files use to write a model's backward tape: create an operator,
 * record its weight gradients (dw) and its input gradient (dx) where backpropagation reaches them.
 *
 * Architectures write the tape top-down (from the loss to the input) because that is the order
 * the paper's selector works in; the forward FLOPs need no separate description, since every
 * operator appears on the tape at least once.
 */
import type {
  Activation,
  AttentionOp,
  AttentionPart,
  EmbeddingOp,
  GluPart,
  LinearOp,
  ModelSpec,
  NormOp,
  Op,
  Stream,
  TapeEntry,
  TensorSpec,
  WeightLayout,
} from '../graph.js';

export interface LinearOptions {
  readonly bias: boolean;
  readonly layout: WeightLayout;
  readonly layer: string;
}

export interface AttentionOptions {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly keyStream?: Stream;
  readonly scaled: boolean;
  readonly masked: boolean;
  readonly rotary: boolean;
  readonly positionBias?: AttentionOp['positionBias'];
}

export class SpecBuilder {
  private readonly tape: TapeEntry[] = [];
  private readonly tensors = new Map<string, TensorSpec>();

  constructor(
    private readonly modelType: string,
    private readonly encoderDecoder: boolean,
  ) {}

  /** Declares a trainable tensor; declaring the same name again must agree on its shape. */
  tensor(name: string, shape: readonly number[], kind: string, layer: string, layout?: WeightLayout): string {
    const known = this.tensors.get(name);
    if (known && known.shape.join() !== shape.join()) {
      throw new Error(`tensor ${name} declared twice with shapes [${known.shape}] and [${shape}]`);
    }
    if (!known)
      this.tensors.set(name, { name, shape: [...shape], kind, layer, ...(layout ? { layout } : {}) });
    return name;
  }

  linear(id: string, stream: Stream, inFeatures: number, outFeatures: number, o: LinearOptions): LinearOp {
    const shape = o.layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
    const weight = this.tensor(`${id}.weight`, shape, 'linear.weight', o.layer, o.layout);
    const bias = o.bias ? this.tensor(`${id}.bias`, [outFeatures], 'linear.bias', o.layer) : undefined;
    return { kind: 'linear', id, stream, inFeatures, outFeatures, weight, ...(bias ? { bias } : {}) };
  }

  /** A projection whose weight is a tensor declared elsewhere (a tied output embedding). */
  tiedLinear(id: string, stream: Stream, inFeatures: number, outFeatures: number, weight: string): LinearOp {
    if (!this.tensors.has(weight)) throw new Error(`tied weight ${weight} is not declared`);
    return { kind: 'linear', id, stream, inFeatures, outFeatures, weight };
  }

  norm(id: string, stream: Stream, variant: NormOp['variant'], dim: number, layer: string): NormOp {
    const weight = this.tensor(`${id}.weight`, [dim], 'norm.weight', layer);
    if (variant === 'rmsnorm') return { kind: 'norm', id, stream, variant, dim, weight };
    const bias = this.tensor(`${id}.bias`, [dim], 'norm.bias', layer);
    return { kind: 'norm', id, stream, variant, dim, weight, bias };
  }

  /** A table lookup; `weight` names the table when it is shared (T5's `shared.weight`). */
  embedding(
    id: string,
    stream: Stream,
    rows: number,
    dim: number,
    layer: string,
    weight = `${id}.weight`,
  ): EmbeddingOp {
    this.tensor(weight, [rows, dim], 'embedding.weight', layer);
    return { kind: 'embedding', id, stream, dim, weight };
  }

  attention(id: string, stream: Stream, o: AttentionOptions): AttentionOp {
    const { keyStream = stream, positionBias, ...rest } = o;
    return { kind: 'attention', id, stream, keyStream, ...rest, ...(positionBias ? { positionBias } : {}) };
  }

  activation(id: string, stream: Stream, fn: Activation, dim: number): Op {
    return { kind: 'activation', id, stream, fn, dim };
  }

  glu(id: string, stream: Stream, fn: Activation, dim: number): Op {
    return { kind: 'glu', id, stream, fn, dim };
  }

  add(id: string, stream: Stream, dim: number): Op {
    return { kind: 'add', id, stream, dim };
  }

  loss(id: string, stream: Stream, vocab: number): Op {
    return { kind: 'loss', id, stream, vocab };
  }

  /** Gradient accumulation where a value feeds `fanout` consumers; nothing to record for one. */
  fork(id: string, stream: Stream, dim: number, fanout: number): void {
    if (fanout > 1) this.dx({ kind: 'fork', id, stream, dim, fanout });
  }

  /** Records the weight gradients of an operator's parameters: bias first, then weight. */
  dw(op: LinearOp | NormOp | EmbeddingOp): void {
    if ('bias' in op && op.bias) this.tape.push({ type: 'dw', op, tensor: op.bias, param: 'bias' });
    this.tape.push({ type: 'dw', op, tensor: op.weight, param: 'weight' });
  }

  /** Records an operator's weight gradients and then its input gradient: a layer on the main path. */
  through(op: LinearOp | NormOp): void {
    this.dw(op);
    this.dx(op);
  }

  /** Records the gradient of a tensor that is not an operator's own weight (T5's relative bias). */
  dwTensor(op: Op, tensor: string): void {
    this.tape.push({ type: 'dw', op, tensor, param: 'weight' });
  }

  /** Records the input gradient of an operator (or one part of it). */
  dx(op: Op, part?: AttentionPart | GluPart): void {
    this.tape.push(part ? { type: 'dx', op, part } : { type: 'dx', op });
  }

  build(extra: Pick<ModelSpec, 'outputEmbedding' | 'topLayer' | 'loraTargets' | 'prefixTargets'>): ModelSpec {
    const taped = new Set(this.tape.flatMap((e) => (e.type === 'dw' ? [e.tensor] : [])));
    const missing = [...this.tensors.keys()].filter((name) => !taped.has(name));
    if (missing.length > 0) throw new Error(`tensors without a gradient on the tape: ${missing.join(', ')}`);
    return {
      modelType: this.modelType,
      encoderDecoder: this.encoderDecoder,
      tape: this.tape,
      tensors: this.tensors,
      ...extra,
    };
  }
}
