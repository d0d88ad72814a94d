/**
 * Kernel and gradient fixes that make training on tfjs 4.22's wasm backend fast and complete
 * (measured in ../shared/research/tfjs-feasibility.md §2):
 * - BatchMatMul's gradient uses transposeA/transposeB, which wasm runs in a scalar loop 10–30×
 *   slower than XNNPACK: the gradient is re-registered with explicit transposes and plain 2-D
 *   products (lazy thunks kept, so the tape still prunes unneeded gradients);
 * - Slice (and Unpack/SplitV, which call it) copies the whole input out of the heap per call:
 *   replaced by kernels that read heap views;
 * - UnsortedSegmentSum (the gradient of gather, i.e. of every embedding) is missing on wasm.
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
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}
