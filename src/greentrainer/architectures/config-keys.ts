/**
 * Which `config.json` keys each family reads, and which it knows to leave the computation alone.
 * A key in neither list may change the math: the RoPE families refuse it by name at load rather
 * than ignore it (tests walk every golden and preset config against these lists).
 */
import { ModelConfigError } from '../errors.js';
import { ROPE_CONFIG_KEYS } from './rope.js';

/** Keys any `PretrainedConfig` may carry: bookkeeping, special ids, and generation defaults. */
const GENERIC = [
  '_name_or_path',
  '_attn_implementation_autoset',
  'add_cross_attention',
  'architectures',
  'auto_map',
  'bad_words_ids',
  'begin_suppress_tokens',
  'bos_token_id',
  'chunk_size_feed_forward', // chunks the same feed-forward; equal results
  'decoder_start_token_id',
  'diversity_penalty',
  'do_sample',
  'dtype', // the storage type; weights are read as float32 whatever it says
  'early_stopping',
  'eos_token_id',
  'exponential_decay_length_penalty',
  'finetuning_task',
  'forced_bos_token_id',
  'forced_eos_token_id',
  'id2label',
  'initializer_range', // initialisation only; checkpoints bring their weights
  'is_decoder',
  'is_encoder_decoder',
  'label2id',
  'length_penalty',
  'max_length',
  'min_length',
  'model_type',
  'no_repeat_ngram_size',
  'num_beam_groups',
  'num_beams',
  'num_return_sequences',
  'output_attentions',
  'output_hidden_states',
  'output_scores',
  'pad_token_id',
  'prefix',
  'problem_type',
  'pruned_heads',
  'remove_invalid_values',
  'repetition_penalty',
  'return_dict',
  'return_dict_in_generate',
  'sep_token_id',
  'suppress_tokens',
  'task_specific_params',
  'temperature',
  'tie_encoder_decoder',
  'tokenizer_class',
  'top_k',
  'top_p',
  'torch_dtype',
  'torchscript',
  'transformers_version',
  'typical_p',
  'unk_token_id',
  'use_bfloat16',
  'use_cache', // generation reuses keys and values either way
];

/** Dropout only acts in training, and greentrainer trains without dropout (deterministic runs). */
const DROPOUT = [
  'activation_dropout',
  'attention_dropout',
  'attn_pdrop',
  'dropout',
  'embd_pdrop',
  'hidden_dropout',
  'layerdrop',
  'resid_pdrop',
  'summary_first_dropout',
];

export interface KeyPolicy {
  /** Keys the family's architecture and forward pass read. */
  readonly handled: readonly string[];
  /** Family keys known not to change the computation, each for a stated reason. */
  readonly nonMath: readonly string[];
}

const LLAMA_CORE = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'hidden_act',
  'rms_norm_eps',
  'tie_word_embeddings',
  'max_position_embeddings',
  ...ROPE_CONFIG_KEYS,
];

export const CONFIG_KEYS: Readonly<Record<string, KeyPolicy>> = {
  llama: {
    handled: [...LLAMA_CORE, 'attention_bias', 'mlp_bias'],
    // pretraining_tp: the same matmuls split into tensor-parallel slices (transformers 5 no longer
    // reads it). is_llama_config, rope_interleaved: nanotron's export flags (SmolLM2), which
    // LlamaForCausalLM never reads: it always rotates halves.
    nonMath: ['pretraining_tp', 'is_llama_config', 'rope_interleaved'],
  },
  qwen2: {
    handled: [...LLAMA_CORE, 'use_sliding_window', 'sliding_window', 'max_window_layers', 'layer_types'],
    // Read by Qwen2-VL only; Qwen2ForCausalLM never looks at it.
    nonMath: ['use_mrope'],
  },
  mistral: { handled: [...LLAMA_CORE, 'sliding_window'], nonMath: [] },
  opt: {
    handled: [
      'vocab_size',
      'hidden_size',
      'ffn_dim',
      'num_hidden_layers',
      'num_attention_heads',
      'max_position_embeddings',
      'word_embed_proj_dim',
      'do_layer_norm_before',
      'activation_function',
      'enable_bias',
      'layer_norm_elementwise_affine',
      'layer_norm_eps',
      'tie_word_embeddings',
      '_remove_final_layer_norm',
    ],
    nonMath: ['init_std'],
  },
  gpt2: {
    handled: [
      'vocab_size',
      'n_positions',
      'n_embd',
      'n_layer',
      'n_head',
      'n_inner',
      'activation_function',
      'tie_word_embeddings',
      'layer_norm_epsilon',
      'scale_attn_weights',
    ],
    // n_ctx: an old alias of n_positions that transformers no longer reads; summary_*: the
    // sequence-classification head, which a causal LM does not have.
    nonMath: [
      'n_ctx',
      'summary_activation',
      'summary_proj_to_labels',
      'summary_type',
      'summary_use_proj',
      'reorder_and_upcast_attn',
      'scale_attn_by_inverse_layer_idx',
    ],
  },
  bloom: {
    handled: [
      'vocab_size',
      'hidden_size',
      'n_embed',
      'n_layer',
      'num_hidden_layers',
      'n_head',
      'num_attention_heads',
      'layer_norm_epsilon',
      'apply_residual_connection_post_layernorm',
      'tie_word_embeddings',
    ],
    // Tensor-parallel slicing and Megatron fused-kernel switches of the same computation, which
    // BloomForCausalLM does not read (its softmax runs in float32 whatever they say).
    nonMath: [
      'pretraining_tp',
      'slow_but_exact',
      'masked_softmax_fusion',
      'offset_alibi',
      'seq_length',
      'attention_softmax_in_fp32',
      'bias_dropout_fusion',
      'skip_bias_add',
      'skip_bias_add_qkv',
    ],
  },
};

/** Keys of `raw` that `family` neither reads nor knows to be harmless. */
export function unknownKeys(family: string, raw: Readonly<Record<string, unknown>>): string[] {
  const policy = CONFIG_KEYS[family];
  if (!policy) throw new Error(`no key policy for '${family}'`);
  const known = new Set([...GENERIC, ...DROPOUT, ...policy.handled, ...policy.nonMath]);
  return Object.keys(raw).filter((k) => !known.has(k));
}

/** Refuses a config carrying keys that may change the math and that this family does not read. */
export function refuseUnknownKeys(
  family: string,
  raw: Readonly<Record<string, unknown>>,
  source: string,
): void {
  const unknown = unknownKeys(family, raw);
  if (unknown.length === 0) return;
  throw new ModelConfigError(
    source,
    unknown.map((key) => ({
      path: key,
      message: `'${family}' configs are not known to carry '${key}': it may change the computation, which greentrainer does not implement (remove it if it does not)`,
    })),
  );
}
