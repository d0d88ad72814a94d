import { strict as assert } from 'node:assert';
import { tensorOrder } from '../../src/greentrainer/flops.js';
import { loadCausalLM } from '../../src/models/checkpoint.js';
import {
  estimateTrainingMemory,
  MemoryBudgetError,
  memoryShape,
  requireFits,
} from '../../src/models/memory.js';
import { presetSpec } from '../helpers/presets.js';

const GIB = 1024 ** 3;

describe('models/memory', () => {
  const spec = presetSpec('gpt2');
  const tensors = tensorOrder(spec);
  const all = new Set(tensors.map((t) => t.name));
  const request = {
    tensors,
    trainable: all,
    shape: memoryShape(spec),
    batch: 1,
    sequence: 128,
    packsWeights: true,
  };

  it('reads the sizes that drive activations off the tape', () => {
    assert.deepEqual(memoryShape(spec), { layers: 12, hidden: 768, ffn: 3072, heads: 12, vocab: 50257 });
  });

  it('matches the measured wasm heap of full GPT-2 fine-tuning with SGD (3.73 GiB) within 5 %', () => {
    const e = estimateTrainingMemory({ ...request, adam: false });
    assert.ok(Math.abs(e.totalBytes / GIB - 3.73) / 3.73 < 0.05, `${(e.totalBytes / GIB).toFixed(2)} GiB`);
  });

  it("adds Adam's two moments per trainable value, and nothing trainable needs no gradients", () => {
    const sgd = estimateTrainingMemory({ ...request, adam: false });
    const adam = estimateTrainingMemory({ ...request, adam: true });
    assert.equal(adam.optimizerBytes, 2 * sgd.gradientsBytes);
    const frozen = estimateTrainingMemory({ ...request, adam: true, trainable: new Set() });
    assert.equal(frozen.gradientsBytes + frozen.optimizerBytes + frozen.transientBytes, 0);
  });

  it('refuses what does not fit, saying where the memory goes and what to do', () => {
    const e = estimateTrainingMemory({ ...request, adam: true });
    assert.throws(
      () => requireFits(e, 4 * GIB, 'full fine-tuning of gpt2', 'wasm'),
      (err: unknown) =>
        err instanceof MemoryBudgetError &&
        /^full fine-tuning of gpt2 needs about 5\.\d\d GiB \(weights 0\.46, packed copies 0\.46, gradients 0\.46, optimizer 0\.93, activations 0\.\d\d, transients 0\.86\), but the wasm backend addresses at most 4\.00 GiB; use the native backend/.test(
          err.message,
        ),
    );
    assert.doesNotThrow(() => requireFits(e, 8 * GIB, 'x', 'tensorflow'));
  });

  it('checks a model folder against a memory cap before reading any weight', () => {
    const folder = new URL('../fixtures/golden/gpt2/', import.meta.url).pathname;
    assert.throws(
      () => loadCausalLM(folder, { limitBytes: 1000, backend: 'wasm', packsWeights: true }),
      MemoryBudgetError,
    );
  });
});
