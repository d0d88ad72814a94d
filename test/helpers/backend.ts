/** Test helpers for TensorFlow.js: pick a backend, and compare arrays with a tolerance. */
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { type BackendName, initBackend } from '../../src/backend/select.js';
import { backendFromEnv } from '../../src/config/env.js';

/** Activates a backend for the tests that follow. */
export async function useBackend(name: BackendName): Promise<void> {
  await initBackend({ backend: name });
}

/** The backend model tests run on: GREENTRAINER_BACKEND, else wasm (the embedded default). */
export function testBackend(): BackendName {
  return backendFromEnv() ?? 'wasm';
}

/** Whether `greentrainer setup-native` has built the native backend here. */
export function nativeBuilt(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node');
    return true;
  } catch {
    return false;
  }
}

/** Backends the parity tests compare against the golden fixtures: wasm and cpu, and native when built. */
export function parityBackends(): BackendName[] {
  return [
    ...new Set<BackendName>([
      'wasm',
      'cpu',
      ...(nativeBuilt() ? (['tensorflow'] as const) : []),
      testBackend(),
    ]),
  ];
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
