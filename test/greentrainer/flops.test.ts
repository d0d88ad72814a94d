import { strict as assert } from 'node:assert';
import { buildArchitecture } from '../../src/greentrainer/architectures/index.js';
import { profileFlops } from '../../src/greentrainer/flops.js';
import { fullFineTuning, maskFlops } from '../../src/greentrainer/schemes.js';
import { PRESETS, presetSpec } from '../helpers/presets.js';

describe('greentrainer/flops', () => {
  describe('a one-layer GPT-2 worked by hand', () => {
    // d = 8, 2 heads of 4, FFN 32, vocab 10; batch 2 × (3 + 1) tokens → n = 8 rows, T = 4.
    const spec = buildArchitecture(
      { model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, vocab_size: 10, n_positions: 16 },
      'tiny-gpt2',
    );
    const p = profileFlops(spec, { batch: 2, inputLength: 3, outputLength: 1 });
    const byName = new Map(p.tensors.map((t) => [t.name, t]));
    const expected: Array<[string, number, number]> = [
      // name, t_dy (work since the previous tensor), t_dw
      ['transformer.ln_f.bias', 160 + 1280, 64], // CE backward 2·n·V, lm_head dx 2·n·d·V; dβ n·d
      ['transformer.ln_f.weight', 0, 128], // dγ 2·n·d
      ['transformer.h.0.mlp.c_proj.bias', 512, 64], // ln_f backward 8·n·d
      ['transformer.h.0.mlp.c_proj.weight', 0, 4096], // 2·n·32·8
      ['transformer.h.0.mlp.c_fc.bias', 4096 + 3584, 256], // c_proj dx, gelu-tanh backward 14·n·32
      ['transformer.h.0.mlp.c_fc.weight', 0, 4096],
      ['transformer.h.0.ln_2.bias', 4096, 64], // c_fc dx
      ['transformer.h.0.ln_2.weight', 0, 128],
      ['transformer.h.0.attn.c_proj.bias', 512 + 64, 64], // ln_2 backward, residual fork n·d
      ['transformer.h.0.attn.c_proj.weight', 0, 1024],
      // c_proj dx 1024; attention: dV 512, dP+dQ 1024 + softmax/scale backward 5·64 scores, dK 512
      ['transformer.h.0.attn.c_attn.bias', 1024 + 512 + 1344 + 512, 192],
      ['transformer.h.0.attn.c_attn.weight', 0, 3072],
      ['transformer.h.0.ln_1.bias', 3072, 64], // c_attn dx
      ['transformer.h.0.ln_1.weight', 0, 128],
      ['transformer.wpe.weight', 512 + 64, 64], // ln_1 backward, fork; scatter-add n·d
      ['transformer.wte.weight', 0, 1280 + 64], // tied: lm_head dw 2·n·d·V plus the scatter-add
    ];

    it('places every tensor in backpropagation order', () => {
      assert.deepEqual(
        p.tensors.map((t) => t.name),
        expected.map((e) => e[0]),
      );
    });

    for (const [name, tDy, tDw] of expected) {
      it(`gives ${name} t_dy = ${tDy} and t_dw = ${tDw}`, () => {
        assert.equal(byName.get(name)?.tDy, tDy);
        assert.equal(byName.get(name)?.tDw, tDw);
      });
    }

    it('counts the forward pass operator by operator', () => {
      // CE 4·n·V, lm_head, ln_f, MLP (add, c_proj, c_fc, gelu, ln_2), attention (add, c_proj, core, c_attn, ln_1), embeddings add
      const forward =
        320 + 1280 + 448 + (64 + 4160 + 4352 + 2304 + 448) + (64 + 1088 + 1472 + 3264 + 448) + 64;
      assert.equal(p.forward, forward);
    });
  });

  for (const preset of PRESETS) {
    describe(preset, () => {
      const spec = presetSpec(preset);
      const p = profileFlops(spec, { batch: 4, inputLength: 512, outputLength: 64 });

      it('sums its per-tensor FLOPs to the full backward pass, and full FT selects everything', () => {
        const sum = p.tensors.reduce((s, t) => s + t.tDy + t.tDw, 0);
        assert.equal(sum, p.backward);
        assert.equal(maskFlops(p, new Uint8Array(p.tensors.length).fill(1)).flops, fullFineTuning(p).flops);
      });

      it('spends about twice the forward FLOPs on a full backward pass', () => {
        const ratio = p.backward / p.forward;
        assert.ok(ratio > 1.9 && ratio < 2.1, `T_bp/T_fp = ${ratio}`);
      });

      it('charges nothing to a tensor whose dy is already paid for by the one above it', () => {
        assert.ok(p.tensors.every((t) => t.tDy >= 0 && t.tDw > 0));
        assert.ok(p.tensors[0]!.tDy > 0, 'the loss and output projection backward come first');
      });
    });
  }

  it('scales linearly with the batch', () => {
    const spec = presetSpec('opt-1.3b');
    const one = profileFlops(spec, { batch: 1, inputLength: 128, outputLength: 32 });
    const four = profileFlops(spec, { batch: 4, inputLength: 128, outputLength: 32 });
    assert.equal(four.forward, 4 * one.forward);
    assert.equal(four.backward, 4 * one.backward);
  });

  it('runs T5 encoder layers over the input and decoder layers over the output', () => {
    const spec = presetSpec('flan-t5-xl');
    const p = profileFlops(spec, { batch: 1, inputLength: 100, outputLength: 10 });
    const dw = (name: string) => p.tensors.find((t) => t.name === name)!.tDw;
    const d = 2048;
    assert.equal(dw('encoder.block.0.layer.0.SelfAttention.q.weight'), 2 * 100 * d * d);
    assert.equal(dw('decoder.block.0.layer.0.SelfAttention.q.weight'), 2 * 10 * d * d);
    // Cross-attention: queries from the decoder, keys and values from the encoder output.
    assert.equal(dw('decoder.block.0.layer.1.EncDecAttention.q.weight'), 2 * 10 * d * d);
    assert.equal(dw('decoder.block.0.layer.1.EncDecAttention.k.weight'), 2 * 100 * d * d);
    assert.equal(dw('lm_head.weight'), 2 * 10 * d * 32128);
  });
});
