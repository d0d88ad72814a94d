/**
 * Picks the TensorFlow.js backend: native TensorFlow with a GPU (`@tensorflow/tfjs-node-gpu`),
 * native TensorFlow on the CPU (`@tensorflow/tfjs-node`), WebAssembly, then plain JavaScript.
 * The native packages are not npm dependencies (their installer downloads libtensorflow); they
 * are loaded when `greentrainer setup-native` has built them.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// The union package's bundle registers every op's gradient on the shared tfjs-core engine.
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { installWasmFixes } from './wasm-kernels.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type Device = 'gpu' | 'cpu';

export interface BackendInfo {
  readonly name: BackendName;
  /** The package that provides it. */
  readonly package: string;
  readonly device: Device;
  readonly tfjsVersion: string;
  /** Largest memory the backend can address, in bytes, where it has a hard cap (wasm32: 4 GiB). */
  readonly memoryLimitBytes?: number;
  /** Candidates tried before this one, and why each was passed over. */
  readonly skipped: ReadonlyArray<{ readonly package: string; readonly reason: string }>;
}

export class BackendError extends Error {
  override readonly name = 'BackendError';
}

interface Candidate {
  readonly name: BackendName;
  readonly package: string;
  readonly device: Device;
  /** Loads the package and registers its backend; throws when it cannot. */
  readonly load: () => Promise<void>;
}

/** Packages loaded by name at run time: they are optional and may not be installed. */
async function importOptional(name: string): Promise<void> {
  // TensorFlow's C++ logging is chatty (absl, oneDNN and CPU-feature notices): keep errors only,
  // unless the user set a level (TF_CPP_MIN_LOG_LEVEL=0 shows everything).
  if (!process.env.TF_CPP_MIN_LOG_LEVEL) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  await import(name);
}

const CANDIDATES: readonly Candidate[] = [
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node-gpu',
    device: 'gpu',
    load: () => importOptional('@tensorflow/tfjs-node-gpu'),
  },
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node',
    device: 'cpu',
    load: () => importOptional('@tensorflow/tfjs-node'),
  },
  { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', load: async () => {} },
  { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', device: 'cpu', load: async () => {} },
];

const WASM_MEMORY_LIMIT_BYTES = 4 * 1024 ** 3;

export interface BackendRequest {
  /** A backend to force (`GREENTRAINER_BACKEND`), or undefined for the first that works. */
  readonly backend?: BackendName;
  /** Refuse anything but a GPU (a job configured with `device: gpu`). */
  readonly requireGpu?: boolean;
}

/** Activates the first backend that loads and satisfies the request. */
export async function initBackend(request: BackendRequest = {}): Promise<BackendInfo> {
  const skipped: Array<{ package: string; reason: string }> = [];
  for (const c of CANDIDATES) {
    if (request.backend && c.name !== request.backend) continue;
    if (request.requireGpu && c.device !== 'gpu') {
      skipped.push({ package: c.package, reason: 'not a GPU backend' });
      continue;
    }
    try {
      await c.load();
      if (!(await tf.setBackend(c.name))) throw new Error(`backend '${c.name}' failed to initialise`);
      await tf.ready();
    } catch (error) {
      skipped.push({ package: c.package, reason: reasonOf(error) });
      continue;
    }
    // tfjs-node-gpu runs on the CPU when TensorFlow finds no usable GPU: ask it which it got.
    const device =
      c.device === 'gpu' && !(tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice
        ? 'cpu'
        : c.device;
    if (request.requireGpu && device !== 'gpu') {
      skipped.push({
        package: c.package,
        reason:
          'loaded, but TensorFlow sees no GPU (check LD_LIBRARY_PATH for the CUDA libraries and CUDA_VISIBLE_DEVICES)',
      });
      continue;
    }
    if (c.name === 'wasm') installWasmFixes();
    return {
      name: c.name,
      package: c.package,
      device,
      tfjsVersion: tf.version_core,
      ...(c.name === 'wasm' ? { memoryLimitBytes: WASM_MEMORY_LIMIT_BYTES } : {}),
      skipped,
    };
  }
  const wanted = request.requireGpu
    ? 'a GPU backend'
    : request.backend
      ? `backend '${request.backend}'`
      : 'any backend';
  const tried = skipped.map((s) => `  - ${s.package}: ${s.reason}`).join('\n');
  throw new BackendError(
    `${wanted} is not available:\n${tried}\n` +
      (request.backend === 'tensorflow' || request.requireGpu
        ? 'build the native binding with `greentrainer setup-native`'
        : ''),
  );
}

function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return (e?.message ?? String(error)).split('\n')[0]!;
}
