/** Test helpers for TensorFlow.js: pick a backend, and compare arrays with a tolerance. */
import { strict as assert } from 'node:assert';
import { type BackendName, initBackend } from '../../src/backend/select.js';

/** Activates a backend for the tests that follow. */
export async function useBackend(name: BackendName): Promise<void> {
  await initBackend({ backend: name });
}

/** Max |a − b| / max(|b|, floor), as tfjs's expectArraysClose does relative checks. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what = 'values',
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (diff > worst) {
      worst = diff;
      at = i;
    }
  }
  assert.ok(
    worst <= tolerance,
    `${what}: max |Δ| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) exceeds ${tolerance}`,
  );
}
