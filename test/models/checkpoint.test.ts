import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadCausalLM, saveModel } from '../../src/models/checkpoint.js';
import { SafetensorsReader, writeSafetensors } from '../../src/models/safetensors.js';
import { assertClose, testBackend, useBackend } from '../helpers/backend.js';

const CONFIG = { model_type: 'gpt2', vocab_size: 64, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32 };

function logits(model: CausalLM): Float32Array {
  return tf
    .tidy(() => {
      const ids = tf.tensor2d([[1, 5, 9, 2]], [1, 4], 'int32');
      return model.forward({ ids, mask: tf.ones([1, 4]) as tf.Tensor2D }).logits;
    })
    .dataSync() as Float32Array;
}

describe('models/checkpoint', () => {
  let dir: string;
  let folder: string;
  before(async () => {
    await useBackend(testBackend());
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-ckpt-'));
    folder = join(dir, 'tiny-gpt2');
    const model = CausalLM.random(CONFIG, 'tiny', 3);
    saveModel(model, CONFIG, folder);
    model.dispose();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The saved model's tensors, read back. */
  function savedTensors(): Array<{ name: string; shape: number[]; data: Float32Array }> {
    const r = SafetensorsReader.open(join(folder, 'model.safetensors'));
    const tensors = [...r.entries.values()].map((e) => ({
      name: e.name,
      shape: [...e.shape],
      data: r.read(e.name),
    }));
    r.close();
    return tensors;
  }

  /** A new folder with the saved config, for a checkpoint written by the caller. */
  function folderFor(name: string): string {
    const out = join(dir, name);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'config.json'), JSON.stringify(CONFIG));
    return out;
  }

  /** A copy of the saved folder whose tensors went through `edit`. */
  function variant(
    name: string,
    edit: (tensors: Array<{ name: string; shape: number[]; data: Float32Array }>) => void,
  ) {
    const out = folderFor(name);
    const tensors = savedTensors();
    edit(tensors);
    writeSafetensors(join(out, 'model.safetensors'), tensors);
    return out;
  }

  it('saves a model that loads back with identical weights and outputs', () => {
    const a = CausalLM.random(CONFIG, 'tiny', 3);
    const b = loadCausalLM(folder);
    assert.deepEqual(b.params.names(), a.params.names());
    assertClose(logits(b), logits(a), 0, 'logits');
    a.dispose();
    b.dispose();
  });

  it('stores nn.Linear-style weights [out, in] and Conv1D weights [in, out], as Hugging Face does', () => {
    const r = SafetensorsReader.open(join(folder, 'model.safetensors'));
    assert.deepEqual(r.entries.get('transformer.h.0.attn.c_attn.weight')?.shape, [16, 48]);
    assert.deepEqual(r.entries.get('transformer.wte.weight')?.shape, [64, 16]);
    r.close();
  });

  it('accepts base-model names without the head prefix (GPT2Model checkpoints)', () => {
    const out = variant('base-names', (ts) => {
      for (const t of ts) t.name = t.name.replace(/^transformer\./, '');
    });
    const m = loadCausalLM(out);
    assert.equal(m.params.names().length, 28);
    m.dispose();
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', () => {
    const out = folderFor('sharded');
    const all = savedTensors();
    const half = Math.floor(all.length / 2);
    writeSafetensors(join(out, 'model-00001-of-00002.safetensors'), all.slice(0, half));
    writeSafetensors(join(out, 'model-00002-of-00002.safetensors'), all.slice(half));
    const weightMap = Object.fromEntries(
      all.map((t, i) => [t.name, `model-0000${i < half ? 1 : 2}-of-00002.safetensors`]),
    );
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    const m = loadCausalLM(out);
    assertClose(logits(m), logits(loadCausalLM(folder)), 0, 'logits');
    m.dispose();
  });

  const bad: Array<
    [string, (ts: Array<{ name: string; shape: number[]; data: Float32Array }>) => void, RegExp]
  > = [
    [
      'a missing tensor',
      (ts) =>
        ts.splice(
          ts.findIndex((t) => t.name === 'transformer.h.1.mlp.c_fc.bias'),
          1,
        ),
      /missing tensor transformer\.h\.1\.mlp\.c_fc\.bias \[64\]/,
    ],
    [
      'a tensor of the wrong shape',
      (ts) => {
        const t = ts.find((x) => x.name === 'transformer.ln_f.weight')!;
        t.shape = [8, 2];
      },
      /tensor transformer\.ln_f\.weight in .*model\.safetensors has shape \[8, 2\], expected \[16\]/,
    ],
    [
      'an unexpected tensor',
      (ts) => ts.push({ name: 'transformer.h.7.attn.c_attn.weight', shape: [1], data: new Float32Array(1) }),
      /unexpected tensor transformer\.h\.7\.attn\.c_attn\.weight/,
    ],
  ];
  for (const [what, edit, message] of bad) {
    it(`refuses a checkpoint with ${what}, naming it, and loads nothing`, () => {
      const out = variant(what.replace(/\W+/g, '-'), edit);
      const before = tf.memory().numTensors;
      assert.throws(
        () => loadCausalLM(out),
        (e: unknown) => e instanceof Error && e.message.includes(out) && message.test(e.message),
      );
      assert.equal(tf.memory().numTensors, before);
    });
  }

  it('refuses a truncated file, naming the file and the tensor, and loads nothing', () => {
    const out = variant('truncated', () => {});
    const file = join(out, 'model.safetensors');
    truncateSync(file, readFileSync(file).length - 100);
    const before = tf.memory().numTensors;
    assert.throws(() => loadCausalLM(out), /model\.safetensors: tensor transformer\.\S+: truncated/);
    assert.equal(tf.memory().numTensors, before);
  });
});
