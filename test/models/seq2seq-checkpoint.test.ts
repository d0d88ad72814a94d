import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel, saveModel } from '../../src/models/checkpoint.js';
import { SafetensorsReader } from '../../src/models/safetensors.js';
import { Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import { assertClose, testBackend, useBackend } from '../helpers/backend.js';
import { T5_OURS_CONFIG, t5OursModel } from '../helpers/t5-fixture.js';

const fixture = (name: string) => new URL(`../fixtures/golden/${name}/`, import.meta.url).pathname;

/** Our logits for the golden batch (decoder inputs as Hugging Face shifted them) and HF's. */
function logitsAgainstHf(model: Seq2SeqLM, name: string): [Float32Array, Float32Array] {
  const g = JSON.parse(readFileSync(join(fixture(name), 'golden.json'), 'utf8'));
  const logits = tf.tidy(
    () =>
      model.forward({
        ids: tf.tensor2d(g.input_ids, undefined, 'int32'),
        mask: tf.tensor2d(g.attention_mask),
        decoderIds: tf.tensor2d(g.decoder_input_ids, undefined, 'int32'),
      }).logits,
  );
  const ours = logits.dataSync() as Float32Array;
  logits.dispose();
  const reference = SafetensorsReader.open(join(fixture(name), 'golden.safetensors'));
  const hf = reference.read('logits');
  reference.close();
  return [ours, hf];
}

function tensorNames(folder: string): string[] {
  const r = SafetensorsReader.open(join(folder, 'model.safetensors'));
  const names = [...r.entries.keys()].sort();
  r.close();
  return names;
}

describe('models/checkpoint: T5 as Hugging Face saves and loads it', () => {
  let dir: string;
  before(async () => {
    await useBackend(testBackend());
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-t5-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saves a T5 that from_pretrained loads: the files HF read are the ones our code writes, and its logits equal HF’s to 1e-5', () => {
    const model = t5OursModel();
    const out = join(dir, 'ours');
    saveModel(model, T5_OURS_CONFIG, out);
    for (const f of ['config.json', 'model.safetensors'])
      assert.ok(
        readFileSync(join(out, f)).equals(readFileSync(join(fixture('t5-ours'), f))),
        `${f} is byte for byte the file make-golden.py loaded`,
      );
    const [ours, hf] = logitsAgainstHf(model, 't5-ours');
    assertClose(ours, hf, 1e-5, 'logits of our model');
    model.dispose();
    const reloaded = loadModel(out);
    assert.ok(reloaded instanceof Seq2SeqLM);
    assert.equal(reloaded.spec.outputEmbedding, 'lm_head.weight', 'FLAN-T5 style: untied');
    const [again] = logitsAgainstHf(reloaded, 't5-ours');
    assertClose(again, ours, 0, 'logits after a save and load');
    reloaded.dispose();
  });

  it('loads a tied, unscaled checkpoint as transformers 5.17 writes it (no lm_head.weight) and matches HF to 1e-5', () => {
    const config = JSON.parse(readFileSync(join(fixture('t5-tied'), 'config.json'), 'utf8'));
    assert.equal(config.tie_word_embeddings, true);
    assert.equal(config.scale_decoder_outputs, false);
    assert.ok(!tensorNames(fixture('t5-tied')).includes('lm_head.weight'));
    const model = loadModel(fixture('t5-tied'));
    assert.ok(model instanceof Seq2SeqLM);
    assert.equal(model.spec.outputEmbedding, 'shared.weight');
    assert.ok(!model.params.names().includes('lm_head.weight'));
    const [ours, hf] = logitsAgainstHf(model, 't5-tied');
    assertClose(ours, hf, 1e-5, 'logits');
    const out = join(dir, 'tied');
    saveModel(model, config, out);
    assert.ok(!tensorNames(out).includes('lm_head.weight'), 'a tied lm_head is not written');
    model.dispose();
    const reloaded = loadModel(out) as Seq2SeqLM;
    assertClose(logitsAgainstHf(reloaded, 't5-tied')[0], ours, 0, 'logits after a save and load');
    reloaded.dispose();
  });

  it('keeps an lm_head.weight that differs from shared.weight untied, whatever tie_word_embeddings says', () => {
    const model = loadModel(fixture('t5'));
    assert.ok(model instanceof Seq2SeqLM);
    assert.equal(model.spec.outputEmbedding, 'lm_head.weight');
    const [ours, hf] = logitsAgainstHf(model, 't5');
    assertClose(ours, hf, 1e-4, 'logits');
    model.dispose();
  });
});
