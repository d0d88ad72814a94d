/** The environment variables greentrainer reads, in one place. */
import type { BackendName } from '../backend/select.js';

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** `GREENTRAINER_BACKEND`: force a backend (tensorflow, wasm or cpu); unset picks the best available. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const value = env.GREENTRAINER_BACKEND;
  if (value === undefined || value === '') return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new EnvError(`GREENTRAINER_BACKEND=${value}: expected one of ${BACKENDS.join(', ')}`);
  }
  return value as BackendName;
}
