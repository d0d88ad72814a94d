import * as tf from '@tensorflow/tfjs-core';
import { assertClose, useBackend } from '../helpers/backend.js';
import { rng } from '../helpers/random.js';

/** Runs `f` on a backend and returns its outputs' values. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  return values;
}

/** Same outputs on cpu and wasm: exactly for copies, within `tolerance` for arithmetic. */
async function sameOnBoth(
  f: (x: tf.Tensor) => tf.Tensor | tf.Tensor[],
  shape: number[],
  what: string,
  tolerance = 0,
) {
  const next = rng(shape.reduce((a, b) => a * 31 + b, 7));
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next());
  const cpu = await on('cpu', () => f(tf.tensor(data, shape)));
  const wasm = await on('wasm', () => f(tf.tensor(data, shape)));
  cpu.forEach((c, i) => {
    assertClose(wasm[i]!, c, tolerance, `${what} output ${i}`);
  });
}

describe('backend/wasm-kernels', () => {
  const shapes = [[7], [5, 6], [4, 3, 5], [2, 3, 4, 5]];
  for (const shape of shapes) {
    it(`slices a [${shape}] tensor as the cpu backend does`, async () => {
      const begin = shape.map((n, i) => (i % 2 === 0 ? 1 : 0) % n);
      const size = shape.map((n, i) => n - begin[i]! - (i === shape.length - 1 ? 1 : 0));
      await sameOnBoth((x) => tf.slice(x, begin, size), shape, 'slice');
    });
    it(`unstacks and splits a [${shape}] tensor along every axis as the cpu backend does`, async () => {
      for (let axis = 0; axis < shape.length; axis++) {
        await sameOnBoth((x) => tf.unstack(x, axis), shape, `unstack axis ${axis}`);
        if (shape[axis]! >= 2)
          await sameOnBoth((x) => tf.split(x, [1, shape[axis]! - 1], axis), shape, `split axis ${axis}`);
      }
    });
  }

  it('transposes every permutation of ranks 1–4, with size-1 and merged axes, exactly as the cpu backend does', async () => {
    const perms = (n: number): number[][] =>
      n === 0
        ? [[]]
        : perms(n - 1).flatMap((p) =>
            Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
          );
    // Sizes not multiples of the 8×8 tile, a size-1 axis, and a batch of matrices.
    for (const shape of [[7], [9, 13], [17, 1, 11], [3, 10, 1, 6], [2, 19, 21], [20, 9, 4, 3]]) {
      for (const perm of perms(shape.length)) {
        await sameOnBoth((x) => tf.transpose(x, perm), shape, `transpose [${shape}] by [${perm}]`);
      }
    }
  });

  it('sums over leading axes (bias and norm gradients) as the cpu backend does, and any other axes too', async () => {
    for (const [shape, axis, keepDims] of [
      [[37, 19], 0, false],
      [[37, 19], 0, true],
      [[4, 9, 6], [0, 1], false],
      [[4, 9, 6], [1, 0], true],
      [[4, 9, 6], 1, false],
      [[4, 9, 6], -1, false],
      [[4, 9, 6], [0, 1, 2], false],
    ] as Array<[number[], number | number[], boolean]>) {
      await sameOnBoth((x) => tf.sum(x, axis, keepDims), shape, `sum [${shape}] over ${axis}`, 1e-4);
    }
    await sameOnBoth(
      (x) => tf.sum(tf.cast(tf.mul(x, 100), 'int32'), 0),
      [6, 5],
      'an int32 column sum (the wasm kernel)',
    );
  });

  it('computes the gradient of gather (UnsortedSegmentSum)', async () => {
    const f = (x: tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, [3, 1, 3, 0, 3]), 2)))(x);
    await sameOnBoth(f, [5, 4], 'gather gradient');
  });

  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`differentiates matMul(a, b, ${ta}, ${tb}) with plain products, matching G·Bᵀ and Aᵀ·G`, async () => {
      await useBackend('wasm');
      const next = rng(ta ? 3 : 5);
      const a = tf.tensor2d(Float32Array.from({ length: 12 }, next), ta ? [4, 3] : [3, 4]);
      const b = tf.tensor2d(Float32Array.from({ length: 20 }, next), tb ? [5, 4] : [4, 5]);
      const g = tf.tensor2d(Float32Array.from({ length: 15 }, next), [3, 5]);
      const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), g)),
      )([a, b]);
      // dL/dA' = G·B'ᵀ and dL/dB' = A'ᵀ·G for A' = op(A), B' = op(B).
      const A = ta ? tf.transpose(a) : a;
      const B = tb ? tf.transpose(b) : b;
      const dA = tf.matMul(g, tf.transpose(B));
      const dB = tf.matMul(tf.transpose(A), g);
      assertClose(da!.dataSync(), (ta ? tf.transpose(dA) : dA).dataSync(), 1e-5, 'dA');
      assertClose(db!.dataSync(), (tb ? tf.transpose(dB) : dB).dataSync(), 1e-5, 'dB');
    });
  }

  it('differentiates a batched matMul', async () => {
    const f = (x: tf.Tensor) =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(t as tf.Tensor3D, t as tf.Tensor3D, false, true)))(x);
    await sameOnBoth(f, [3, 4, 5], 'batched matMul gradient', 1e-5);
  });
});
