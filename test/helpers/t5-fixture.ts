/**
 * A tiny FLAN-T5-style model with fixed weights, saved by our code (test/fixtures/make-t5-ours.ts)
 * and read back by Hugging Face to make its golden file (test/fixtures/make-golden.py, case t5-ours).
 * Weights are large enough (N(0, 0.3)-like embeddings, 0.2 elsewhere, norms 1 ± 0.1) that a
 * forgotten norm or scale moves the logits far beyond the test tolerance.
 */
import { describeSeq2SeqLM, Seq2SeqLM } from '../../src/models/seq2seq-lm.js';
import { rng } from './random.js';

/** As transformers 4 wrote FLAN-T5's config: untied, unscaled; one decoder block fewer than the encoder. */
export const T5_OURS_CONFIG = {
  architectures: ['T5ForConditionalGeneration'],
  model_type: 't5',
  vocab_size: 128,
  d_model: 32,
  d_kv: 8,
  d_ff: 64,
  num_layers: 2,
  num_decoder_layers: 1,
  num_heads: 4,
  relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16,
  dropout_rate: 0.0,
  layer_norm_epsilon: 1e-6,
  feed_forward_proj: 'gated-gelu',
  tie_word_embeddings: false,
  is_encoder_decoder: true,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
};

/** The fixture model: every value from one seeded generator, in the spec's tensor order. */
export function t5OursModel(): Seq2SeqLM {
  const { tensors } = describeSeq2SeqLM(T5_OURS_CONFIG, 't5-ours');
  const next = rng(20);
  // Irwin–Hall of 4 uniforms: mean 0, variance 1/3 → scaled to unit variance.
  const normal = () => (next() + next() + next() + next() - 2) * Math.sqrt(3);
  const values = new Map(
    tensors.map((t) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const fill =
        t.kind === 'norm.weight'
          ? () => 1 + 0.1 * normal()
          : t.kind === 'embedding.weight'
            ? () => 0.3 * normal()
            : () => 0.2 * normal();
      return [t.name, Float32Array.from({ length: n }, fill)] as const;
    }),
  );
  return Seq2SeqLM.fromValues(T5_OURS_CONFIG, 't5-ours', values);
}
