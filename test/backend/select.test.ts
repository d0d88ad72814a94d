import { strict as assert } from 'node:assert';
import { BackendError, initBackend } from '../../src/backend/select.js';
import { nativeBuilt, testBackend, useBackend } from '../helpers/backend.js';

describe('backend/select', () => {
  after(() => useBackend(testBackend()));

  it('refuses to run on the CPU when a GPU is required, saying why each backend was passed over', async () => {
    await assert.rejects(
      () => initBackend({ requireGpu: true }),
      (e: unknown) =>
        e instanceof BackendError &&
        e.message.startsWith(
          'a GPU backend is not available:\n  - @tensorflow/tfjs-node-gpu: not installed\n',
        ) &&
        /@tensorflow\/tfjs-backend-wasm: not a GPU backend/.test(e.message),
    );
  });

  it('picks the best backend available when none is forced', async () => {
    const info = await initBackend();
    assert.equal(info.name, nativeBuilt() ? 'tensorflow' : 'wasm');
    assert.equal(info.device, 'cpu');
  });
});
