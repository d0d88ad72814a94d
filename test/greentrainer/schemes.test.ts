import { strict as assert } from 'node:assert';
import { profileFlops } from '../../src/greentrainer/flops.js';
import {
  frozenBlocks,
  lora,
  maskFlops,
  prefixTuning,
  top2,
  top2Mask,
} from '../../src/greentrainer/schemes.js';
import { presetSpec } from '../helpers/presets.js';

describe('greentrainer/schemes', () => {
  // The paper's Table 2 (batch 4, input 512; output 64 for SciTLDR, 128 for DialogSum): FLOPs
  // reduction vs full fine-tuning, in percent, with the tolerance the paper's rounding allows.
  const table2: Array<[string, number, 'top2' | 'lora' | 'prefix', number, number]> = [
    ['opt-2.7b', 64, 'top2', 31, 3],
    ['opt-2.7b', 64, 'lora', 33, 3],
    ['opt-2.7b', 64, 'prefix', 33, 3],
    ['opt-2.7b', 128, 'top2', 31, 3],
    ['opt-2.7b', 128, 'lora', 33, 3],
    ['opt-2.7b', 128, 'prefix', 33, 3],
    ['bloomz-3b', 64, 'top2', 23, 4],
    ['bloomz-3b', 64, 'lora', 33, 4],
    ['bloomz-3b', 128, 'top2', 23, 4],
    ['bloomz-3b', 128, 'lora', 33, 4],
    ['flan-t5-xl', 64, 'top2', 66, 3],
    ['flan-t5-xl', 64, 'lora', 33, 3],
    ['flan-t5-xl', 64, 'prefix', 63, 3],
    ['flan-t5-xl', 128, 'top2', 66, 3],
    ['flan-t5-xl', 128, 'lora', 33, 3],
    ['flan-t5-xl', 128, 'prefix', 60, 3],
  ];
  for (const [preset, output, scheme, paper, tolerance] of table2) {
    it(`reproduces Table 2: ${preset}, output ${output}, ${scheme} saves ${paper} % ± ${tolerance}`, () => {
      const spec = presetSpec(preset);
      const p = profileFlops(spec, { batch: 4, inputLength: 512, outputLength: output });
      const result = {
        top2: () => top2(spec, p),
        lora: () => lora(spec, p),
        prefix: () => prefixTuning(spec, p),
      }[scheme]();
      const got = 100 * result.reduction;
      assert.ok(Math.abs(got - paper) <= tolerance, `${got.toFixed(1)} % vs the paper's ${paper} %`);
    });
  }

  it('trains the output embedding and the final norm in FT-Top2', () => {
    const spec = presetSpec('opt-2.7b');
    const p = profileFlops(spec, { batch: 1, inputLength: 16, outputLength: 16 });
    const chosen = p.tensors.filter((_, k) => top2Mask(spec, p)[k]).map((t) => t.name);
    assert.deepEqual(chosen, [
      'model.decoder.final_layer_norm.bias',
      'model.decoder.final_layer_norm.weight',
      'model.decoder.embed_tokens.weight',
    ]);
  });

  it('pays the whole backward chain for a tied output embedding, but not for an untied one', () => {
    const tied = presetSpec('opt-2.7b');
    const pt = profileFlops(tied, { batch: 4, inputLength: 512, outputLength: 64 });
    const chainOfTied = pt.tensors.reduce((s, t) => s + t.tDy, 0);
    assert.ok(top2(tied, pt).backward > chainOfTied);

    const untied = presetSpec('flan-t5-xl');
    const pu = profileFlops(untied, { batch: 4, inputLength: 512, outputLength: 64 });
    const head = pu.tensors[0]!;
    const norm = pu.tensors[1]!;
    assert.equal(top2(untied, pu).backward, head.tDy + head.tDw + norm.tDy + norm.tDw);
  });

  it('costs more for LoRA than for training nothing, and its adapters grow with the rank', () => {
    const spec = presetSpec('gpt2');
    const p = profileFlops(spec, { batch: 4, inputLength: 256, outputLength: 32 });
    const nothing = maskFlops(p, new Uint8Array(p.tensors.length));
    assert.equal(nothing.flops, p.forward);
    assert.ok(lora(spec, p, 8).flops > nothing.flops);
    assert.ok(lora(spec, p, 64).flops > lora(spec, p, 8).flops);
  });

  it('charges prefix tuning for the longer keys in the forward pass', () => {
    const spec = presetSpec('opt-1.3b');
    const p = profileFlops(spec, { batch: 4, inputLength: 512, outputLength: 64 });
    assert.ok(prefixTuning(spec, p, 50).forward > prefixTuning(spec, p, 10).forward);
    assert.ok(prefixTuning(spec, p, 10).forward > p.forward);
  });

  it('freezes the decoder blocks below the lowest block a selection touches, and nothing it cannot place', () => {
    const opt = presetSpec('opt-2.7b'); // 32 blocks, output tied to the input embedding
    const d = 'model.decoder';
    assert.equal(frozenBlocks(opt, [`${d}.layers.31.fc2.weight`, `${d}.layers.5.fc1.bias`]), 5);
    assert.equal(frozenBlocks(opt, [`${d}.final_layer_norm.weight`]), 32);
    assert.equal(frozenBlocks(opt, [`${d}.layers.0.fc1.weight`]), 0);
    assert.equal(
      frozenBlocks(opt, [`${d}.embed_tokens.weight`, `${d}.layers.30.fc1.weight`]),
      0,
      'tied embedding',
    );
    assert.equal(frozenBlocks(opt, ['lora.a', `${d}.layers.30.fc1.weight`]), 0, 'an adapter');
    const llama = presetSpec('tinyllama-1.1b'); // 22 blocks, untied head
    assert.equal(frozenBlocks(llama, ['lm_head.weight', 'model.layers.21.mlp.down_proj.weight']), 21);
    assert.equal(
      frozenBlocks(presetSpec('flan-t5-xl'), ['decoder.final_layer_norm.weight']),
      0,
      'encoder-decoder',
    );
  });
});
