/**
 * Executed-FLOPs audit: the FLOPs of the kernels a backend really ran (from `tf.profile`'s kernel
 * list with each kernel's input and output shapes), by the conventions of the FLOPs model: a
 * multiply-add counts 2, every other arithmetic operation 1 per element, data movement 0.
 */
type Rule = (inputs: number[][], outputs: number[][]) => number;

const size = (shape: number[] | undefined) => (shape ?? []).reduce((p, d) => p * d, 1);
const perOutput: Rule = (_, out) => size(out[0]);
const perInput: Rule = (inp) => size(inp[0]);
const free: Rule = () => 0;

/** [M, K]·[K, N] (batched or transposed alike): 2·K per output element = 2·N·size(a). */
const matMul: Rule = (inp, out) => 2 * (out[0]?.at(-1) ?? 0) * size(inp[0]);

/** FLOPs rules keyed by tfjs kernel name. */
/** Kernels by cost: per output element, per input element, or none (they only move data). */
const PER_OUTPUT = `Add Sub Multiply RealDiv Neg Exp Log Tanh Sigmoid Relu Rsqrt Sqrt Square Erf Maximum Minimum Step
  Select SelectV2 Pow Abs Sign Reciprocal Greater GreaterEqual Less LessEqual Equal NotEqual LogicalAnd LogicalOr
  LogicalNot IsNan IsInf Cumsum Softplus`;
const PER_INPUT = 'Sum Mean Max Min Prod ArgMax UnsortedSegmentSum';
const FREE = `Reshape Transpose Slice StridedSlice Concat Pack Unpack SplitV GatherV2 GatherNd Tile Cast Identity Fill
  ZerosLike OnesLike Range OneHot PadV2 Reverse BroadcastTo ExpandDims Squeeze`;

const each = (names: string, rule: Rule) => Object.fromEntries(names.split(/\s+/).map((k) => [k, rule]));

/** FLOPs rules keyed by tfjs kernel name. */
const KERNELS: Readonly<Record<string, Rule>> = {
  BatchMatMul: matMul,
  _FusedMatMul: matMul,
  ...each(PER_OUTPUT, perOutput),
  ...each(PER_INPUT, perInput),
  ...each(FREE, free),
  SquaredDifference: (inp, out) => 2 * perOutput(inp, out),
  AddN: (inp, out) => (inp.length - 1) * size(out[0]),
  Softmax: (inp) => 5 * size(inp[0]),
};

export interface KernelRecord {
  readonly name: string;
  readonly inputShapes: number[][];
  readonly outputShapes: number[][];
}

export class UnknownKernelError extends Error {
  override readonly name = 'UnknownKernelError';
}

/** FLOPs of one executed kernel; an unknown kernel is an error, so nothing goes uncounted. */
export function kernelFlops(k: KernelRecord): number {
  // A custom-gradient op (`logSoftmax__op`) is a scope: the kernels inside it are listed, and counted, themselves.
  if (k.name.endsWith('__op')) return 0;
  const rule = KERNELS[k.name];
  if (!rule)
    throw new UnknownKernelError(
      `no FLOPs rule for kernel '${k.name}' (inputs ${JSON.stringify(k.inputShapes)})`,
    );
  return rule(k.inputShapes, k.outputShapes);
}

/** Total FLOPs of a profiled run, and per kernel name. */
export function executedFlops(kernels: readonly KernelRecord[]): {
  total: number;
  byKernel: Map<string, number>;
} {
  const byKernel = new Map<string, number>();
  let total = 0;
  for (const k of kernels) {
    const f = kernelFlops(k);
    total += f;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + f);
  }
  return { total, byKernel };
}
