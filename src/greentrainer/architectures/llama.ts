/**
 * The Llama family as Hugging Face builds it — `LlamaForCausalLM` (Llama 2/3.x, TinyLlama,
 * SmolLM2), `Qwen2ForCausalLM` (Qwen2/Qwen2.5) and `MistralForCausalLM`: RMSNorm, rotary positions
 * (every RoPE type of `rope.ts`), SwiGLU, grouped-query attention. They differ in biases (Llama:
 * `attention_bias` on Q/K/V/O and `mlp_bias`; Qwen2: Q/K/V always, O never) and in sliding-window
 * attention (Mistral: every layer when `sliding_window` is set; Qwen2: the `sliding_attention`
 * layers of `layer_types`).
 */
import { z } from 'zod';
import { ModelConfigError } from '../errors.js';
import type { AttentionOp, LinearOp, ModelSpec } from '../graph.js';
import { attentionSublayer, mlpSublayer, outputHead, preNormResidual } from './blocks.js';
import { SpecBuilder } from './builder.js';
import { refuseUnknownKeys } from './config-keys.js';
import { activationOf, parseConfig, positiveInt, requireDivisible } from './hf-config.js';
import { parseRope, type Rope } from './rope.js';

export type LlamaFamily = 'llama' | 'qwen2' | 'mistral';

/** A config of the family, resolved: what the FLOPs model and the forward pass both read. */
export interface LlamaConfig {
  readonly family: LlamaFamily;
  readonly vocab: number;
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly hiddenAct: string;
  readonly rmsNormEps: number;
  readonly tied: boolean;
  readonly qkvBias: boolean;
  readonly outBias: boolean;
  readonly mlpBias: boolean;
  readonly rope: Rope;
  /** Per layer: the sliding window (a key j is seen from query i when i − W < j ≤ i), or null. */
  readonly windows: readonly (number | null)[];
}

const Common = {
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.nullish(),
  head_dim: positiveInt.nullish(),
  hidden_act: z.string().default('silu'),
  tie_word_embeddings: z.boolean().default(false),
  rms_norm_eps: z.number().positive().default(1e-6),
};

const LlamaRaw = z.looseObject({
  ...Common,
  max_position_embeddings: positiveInt.default(2048),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
});

const Qwen2Raw = z.looseObject({
  ...Common,
  max_position_embeddings: positiveInt.default(32768),
  use_sliding_window: z.boolean().default(false),
  sliding_window: positiveInt.nullish().default(4096),
  max_window_layers: z.number().int().nonnegative().default(28),
  layer_types: z.array(z.enum(['full_attention', 'sliding_attention'])).nullish(),
});

const MistralRaw = z.looseObject({
  ...Common,
  max_position_embeddings: positiveInt.default(4096 * 32),
  sliding_window: positiveInt.nullish().default(4096),
});

type CommonRaw = z.infer<z.ZodObject<typeof Common>> & { max_position_embeddings: number };

/** Reads and checks a config of the family, refusing any key it does not implement. */
export function parseLlamaConfig(family: LlamaFamily, raw: unknown, source: string): LlamaConfig {
  refuseUnknownKeys(family, raw as Record<string, unknown>, source);
  switch (family) {
    case 'llama': {
      const c = parseConfig(LlamaRaw, raw, source);
      const bias = c.attention_bias;
      return resolve(family, c, source, { qkv: bias, out: bias, mlp: c.mlp_bias }, []);
    }
    case 'qwen2': {
      const c = parseConfig(Qwen2Raw, raw, source);
      // Qwen2Config: the window exists only with use_sliding_window; layers from max_window_layers on slide.
      const window = c.use_sliding_window ? (c.sliding_window ?? null) : null;
      const types =
        c.layer_types ??
        Array.from({ length: c.num_hidden_layers }, (_, i) =>
          window !== null && i >= c.max_window_layers ? 'sliding_attention' : 'full_attention',
        );
      if (types.length !== c.num_hidden_layers)
        fail(source, 'layer_types', `has ${types.length} entries for ${c.num_hidden_layers} layers`);
      if (window === null && types.includes('sliding_attention'))
        fail(source, 'layer_types', "names 'sliding_attention' layers but no sliding_window is in use");
      const windows = types.map((t) => (t === 'sliding_attention' ? window : null));
      return resolve(family, c, source, { qkv: true, out: false, mlp: false }, windows);
    }
    case 'mistral': {
      const c = parseConfig(MistralRaw, raw, source);
      const windows = Array.from({ length: c.num_hidden_layers }, () => c.sliding_window ?? null);
      return resolve(family, c, source, { qkv: false, out: false, mlp: false }, windows);
    }
  }
}

function fail(source: string, path: string, message: string): never {
  throw new ModelConfigError(source, [{ path, message }]);
}

function resolve(
  family: LlamaFamily,
  c: CommonRaw,
  source: string,
  bias: { qkv: boolean; out: boolean; mlp: boolean },
  windows: readonly (number | null)[],
): LlamaConfig {
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  if (c.head_dim == null)
    requireDivisible(source, ['hidden_size', c.hidden_size], ['num_attention_heads', heads]);
  requireDivisible(source, ['num_attention_heads', heads], ['num_key_value_heads', kvHeads]);
  const headDim = c.head_dim ?? c.hidden_size / heads;
  if (headDim % 2 !== 0) fail(source, 'head_dim', `rotary embeddings need an even head size, got ${headDim}`);
  activationOf(source, 'hidden_act', c.hidden_act);
  return {
    family,
    vocab: c.vocab_size,
    hidden: c.hidden_size,
    intermediate: c.intermediate_size,
    layers: c.num_hidden_layers,
    heads,
    kvHeads,
    headDim,
    hiddenAct: c.hidden_act,
    rmsNormEps: c.rms_norm_eps,
    tied: c.tie_word_embeddings,
    qkvBias: bias.qkv,
    outBias: bias.out,
    mlpBias: bias.mlp,
    rope: parseRope(c as unknown as Record<string, unknown>, c.max_position_embeddings, source),
    windows: windows.length > 0 ? windows : Array.from({ length: c.num_hidden_layers }, () => null),
  };
}

/** The tensor-level description of a config of the family. */
export function buildLlamaFamily(family: LlamaFamily, raw: unknown, source: string): ModelSpec {
  const c = parseLlamaConfig(family, raw, source);
  const fn = activationOf(source, 'hidden_act', c.hiddenAct);
  const d = c.hidden;
  const s = 'decoder' as const;
  const b = new SpecBuilder(family, false);

  const embed = b.embedding('model.embed_tokens', s, c.vocab, d, 'embeddings');
  const lmHead = outputHead(b, embed, c.vocab, d, c.tied);
  const norm = b.norm('model.norm', s, 'rmsnorm', d, 'final');
  b.through(norm);

  const loraTargets: LinearOp[] = [];
  const prefixTargets: AttentionOp[] = [];
  for (let i = c.layers - 1; i >= 0; i--) {
    const p = `model.layers.${i}`;
    const layer = `decoder.${i}`;
    preNormResidual(b, b.norm(`${p}.post_attention_layernorm`, s, 'rmsnorm', d, layer), `${p}.mlp`, () =>
      mlpSublayer(b, {
        stream: s,
        layer,
        dim: d,
        ffnDim: c.intermediate,
        fn,
        bias: c.mlpBias,
        layout: 'out_in',
        up: `${p}.mlp.up_proj`,
        gate: `${p}.mlp.gate_proj`,
        down: `${p}.mlp.down_proj`,
        act: `${p}.mlp.act_fn`,
      }),
    );
    preNormResidual(b, b.norm(`${p}.input_layernorm`, s, 'rmsnorm', d, layer), `${p}.self_attn`, () => {
      const t = attentionSublayer(b, {
        stream: s,
        layer,
        dim: d,
        bias: c.qkvBias,
        outBias: c.outBias,
        layout: 'out_in',
        projections: {
          type: 'split',
          q: `${p}.self_attn.q_proj`,
          k: `${p}.self_attn.k_proj`,
          v: `${p}.self_attn.v_proj`,
        },
        out: `${p}.self_attn.o_proj`,
        core: `${p}.self_attn`,
        attention: {
          heads: c.heads,
          kvHeads: c.kvHeads,
          headDim: c.headDim,
          scaled: true,
          masked: true,
          rotary: true,
        },
      });
      loraTargets.push(...t.loraTargets);
      prefixTargets.push(t.core);
    });
  }

  b.dw(embed);
  return b.build({ outputEmbedding: lmHead.weight, topLayer: [norm.weight], loraTargets, prefixTargets });
}
