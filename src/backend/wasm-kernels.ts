/**
 * Kernel and gradient fixes that make training on tfjs 4.22's wasm backend fast and complete
 * (measured in ../shared/research/tfjs-feasibility.md §2):
 * - BatchMatMul's gradient uses transposeA/transposeB, which wasm runs in a scalar loop 10–30×
 *   slower than XNNPACK: the gradient is re-registered with explicit transposes and plain 2-D
 *   products (lazy thunks kept, so the tape still prunes unneeded gradients);
 * - Slice (and Unpack/SplitV, which call it) copies the whole input out of the heap per call:
 *   replaced by kernels that read heap views;
 * - UnsortedSegmentSum (the gradient of gather, i.e. of every embedding) is missing on wasm;
 * - Transpose runs an untiled loop (3.8 ms for a 2048×256 matrix, 0.65 ms tiled): every weight
 *   gradient transposes its input once, so weight gradients cost 1.5× their FLOPs' worth of time;
 *   matrices are transposed in tiles on heap views instead;
 * - Sum over leading axes (every bias and norm gradient: a column sum) transposes first, then sums:
 *   4 ms for 2048×256; summed instead row by row (0.75 ms).
 * Install once, after the wasm backend is active. Gradients are global in tfjs, so the matMul
 * gradient is only registered when wasm is the backend in use.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

/** a·b with optional transposes, computed as explicit transposes and 2-D (or per-batch) products. */
export function plainMatMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return tf.tidy(() => {
    const x = transposeA ? swapLast(a) : a;
    const y = transposeB ? swapLast(b) : b;
    if (x.rank <= 2 || x.shape[0] === 1) return tf.matMul(x, y);
    const xs = tf.unstack(x);
    const ys = y.rank === 2 ? xs.map(() => y) : tf.unstack(y);
    return tf.stack(xs.map((xi, i) => tf.matMul(xi as tf.Tensor2D, ys[i] as tf.Tensor2D)));
  });
}

/** Swaps the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return tf.transpose(x, perm);
}

function registerMatMulGradient(): void {
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const g = dy as tf.Tensor;
      if (!transposeA && !transposeB)
        return { a: () => plainMatMul(g, b, false, true), b: () => plainMatMul(a, g, true, false) };
      if (!transposeA && transposeB)
        return { a: () => plainMatMul(g, b), b: () => plainMatMul(g, a, true, false) };
      if (transposeA && !transposeB)
        return { a: () => plainMatMul(b, g, false, true), b: () => plainMatMul(a, g) };
      return { a: () => plainMatMul(b, g, true, true), b: () => plainMatMul(g, a, true, true) };
    },
  });
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs: tf.NamedAttrMap; backend: BackendWasm };

/** Slice that copies contiguous runs straight from heap views. */
function sliceKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.Tensor,
    attrs.begin as number[],
    attrs.size as number[],
  ) as [number[], number[]];
  return sliceInto(backend, x, begin, size);
}

function sliceInto(backend: BackendWasm, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  // Views are taken after makeOutput: an allocation may grow (and move) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  const rank = x.shape.length;
  // The innermost run of dims that are copied whole is contiguous in memory.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size.slice(inner).reduce((p, s) => p * s, 1);
  const outer = size.slice(0, inner);
  const count = outer.reduce((p, s) => p * s, 1);
  const index = new Array<number>(inner).fill(0);
  let written = 0;
  for (let n = 0; n < count; n++) {
    let offset = begin[inner]! * (strides[inner] ?? 1);
    for (let d = 0; d < inner; d++) offset += (begin[d]! + index[d]!) * strides[d]!;
    dst.set(src.subarray(offset, offset + run), written);
    written += run;
    for (let d = inner - 1; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

function unpackKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const value = inputs.value as tf.TensorInfo;
  const axis = ((attrs.axis as number) + value.shape.length) % value.shape.length;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const size = [...value.shape];
  size[axis] = 1;
  return Array.from({ length: value.shape[axis]! }, (_, i) => {
    const begin = value.shape.map((_, d) => (d === axis ? i : 0));
    return { ...sliceInto(backend, value, begin, size), shape: outShape };
  });
}

function splitKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const x = inputs.x as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    attrs.numOrSizeSplits as number[] | number,
    axis,
  );
  let start = 0;
  return sizes.map((s) => {
    const begin = x.shape.map((_, d) => (d === axis ? start : 0));
    const size = x.shape.map((n, d) => (d === axis ? s : n));
    start += s;
    return sliceInto(backend, x, begin, size);
  });
}

/** out[segment[i]] += x[i]: the gradient of gather. */
function unsortedSegmentSumKernel({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const ids = inputs.segmentIds as tf.TensorInfo;
  const segments = attrs.numSegments as number;
  const n = tf.util.sizeFromShape(ids.shape);
  const inner = n === 0 ? 0 : tf.util.sizeFromShape(x.shape) / n;
  const out = backend.makeOutput([segments, ...x.shape.slice(ids.shape.length)], x.dtype);
  const o = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const iv = backend.typedArrayFromHeap(ids);
  o.fill(0);
  for (let i = 0; i < n; i++) {
    const s = iv[i]!;
    if (s < 0 || s >= segments) continue;
    const ob = s * inner;
    const xb = i * inner;
    for (let j = 0; j < inner; j++) o[ob + j]! += xv[xb + j]!;
  }
  return out;
}

/**
 * Transpose on heap views for a matrix or a batch of matrices (after merging axes: a swap of the
 * last two, under an optional batch axis), copied in 8×8 tiles so that reads and writes both stay
 * within a few cache lines; anything else (heads split or merged move whole rows) as wasm does.
 */
function transposeKernel(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as tf.TensorInfo;
    const perm = attrs.perm as number[];
    const { shape, order } = mergeAxes(x.shape, perm);
    const lead = order.length === 3 && order[0] === 0 ? 1 : 0;
    if (order.length !== lead + 2 || order[lead] !== lead + 1)
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const out = backend.makeOutput(
      perm.map((p) => x.shape[p]!),
      x.dtype,
    );
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const [r, c] = [shape[lead]!, shape[lead + 1]!];
    for (let b = 0; b < (lead ? shape[0]! : 1); b++) swap(src, dst, b * r * c, r, c);
    return out;
  };
}

const TILE = 8;

/** [r, c] → [c, r] from `base` on. */
function swap(src: tf.TypedArray, dst: tf.TypedArray, base: number, r: number, c: number): void {
  for (let i0 = 0; i0 < r; i0 += TILE) {
    const i1 = i0 + TILE < r ? i0 + TILE : r;
    for (let j0 = 0; j0 < c; j0 += TILE) {
      const j1 = j0 + TILE < c ? j0 + TILE : c;
      for (let j = j0; j < j1; j++) {
        let to = base + j * r + i0;
        let from = base + i0 * c + j;
        for (let i = i0; i < i1; i++) {
          dst[to++] = src[from]!;
          from += c;
        }
      }
    }
  }
}

/** Drops size-1 axes and merges input axes that stay adjacent, in order, in the output. */
function mergeAxes(shape: readonly number[], perm: readonly number[]): { shape: number[]; order: number[] } {
  const kept = perm.filter((p) => shape[p] !== 1);
  if (kept.length === 0) return { shape: [1], order: [0] };
  // Runs of the output order that are consecutive input axes.
  const runs: number[][] = [];
  for (const p of kept) {
    const last = runs.at(-1);
    if (last && p === last.at(-1)! + 1) last.push(p);
    else runs.push([p]);
  }
  const byInput = [...runs].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInput.map((run) => run.reduce((n, p) => n * shape[p]!, 1)),
    order: runs.map((run) => byInput.indexOf(run)),
  };
}

/**
 * Sum over leading axes (a column sum: every bias and norm gradient) row by row on heap views,
 * accumulating in float64; any other sum as wasm does.
 */
function sumKernel(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as tf.TensorInfo;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i) && axes.length < x.shape.length;
    if (!leading || x.dtype !== 'float32')
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = tf.util.sizeFromShape(x.shape.slice(axes.length));
    const out = backend.makeOutput(
      attrs.keepDims ? x.shape.map((n, d) => (d < axes.length ? 1 : n)) : x.shape.slice(axes.length),
      'float32',
    );
    const acc = new Float64Array(cols);
    const src = backend.typedArrayFromHeap(x);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let j = 0; j < cols; j++) acc[j]! += src[base + j]!;
    }
    backend.typedArrayFromHeap(out).set(acc);
    return out;
  };
}

let installed = false;

/** Installs the fixes; call after `tf.setBackend('wasm')`. Idempotent. */
export function installWasmFixes(): void {
  if (installed) return;
  installed = true;
  registerMatMulGradient();
  const kernels: Array<[string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]]> = [
    [tf.Slice, sliceKernel],
    [tf.Unpack, unpackKernel],
    [tf.SplitV, splitKernel],
    [tf.UnsortedSegmentSum, unsortedSegmentSumKernel],
  ];
  const [sum, transpose] = [tf.getKernel(tf.Sum, 'wasm'), tf.getKernel(tf.Transpose, 'wasm')];
  if (sum) kernels.push([tf.Sum, sumKernel(sum.kernelFunc)]);
  if (transpose) kernels.push([tf.Transpose, transposeKernel(transpose.kernelFunc)]);
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}
