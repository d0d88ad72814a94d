/**
 * Rotary position settings of a Hugging Face config, in both layouts transformers writes:
 * transformers 4 keeps `rope_theta` at the top and the scaling under `rope_scaling` (`type` before
 * 4.37, `rope_type` after); transformers 5 puts everything under `rope_parameters`. Resolved as
 * `RotaryEmbeddingConfigMixin.convert_rope_params_to_dict` does: `rope_scaling` wins over
 * `rope_parameters`, a θ inside the dict over the top-level one, 10000 when neither is given.
 * A type or a key we do not implement is refused by name, never ignored.
 */
import { ModelConfigError } from '../errors.js';

export type Rope =
  | { readonly type: 'default'; readonly theta: number }
  | { readonly type: 'linear'; readonly theta: number; readonly factor: number }
  | {
      readonly type: 'dynamic';
      readonly theta: number;
      readonly factor: number;
      /** The length beyond which the NTK base grows (`max_position_embeddings`). */
      readonly maxPositions: number;
    }
  | {
      readonly type: 'llama3';
      readonly theta: number;
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    }
  | {
      readonly type: 'yarn';
      readonly theta: number;
      readonly factor: number;
      readonly originalMaxPositions: number;
      /** Multiplies cos and sin; derived from `factor` (and mscale) unless given. */
      readonly attentionFactor: number;
      readonly betaFast: number;
      readonly betaSlow: number;
      readonly truncate: boolean;
    };

export type RopeType = Rope['type'];

/** Keys each type reads besides `rope_type`/`type` and `rope_theta` (transformers' validators). */
const TYPE_KEYS: Readonly<Record<RopeType, readonly string[]>> = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor'],
  llama3: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
  yarn: [
    'factor',
    'original_max_position_embeddings',
    'attention_factor',
    'beta_fast',
    'beta_slow',
    'mscale',
    'mscale_all_dim',
    'truncate',
  ],
};

export const ropeTypes = Object.keys(TYPE_KEYS) as RopeType[];

/** The top-level config keys this module reads. */
export const ROPE_CONFIG_KEYS = [
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'partial_rotary_factor',
  'original_max_position_embeddings',
];

type Raw = Readonly<Record<string, unknown>>;

/** Reads numbers out of the RoPE dict, naming the key of any bad one. */
interface Reader {
  /** `rope_scaling.<key>` or `rope_parameters.<key>`. */
  at(key: string): string;
  num(path: string, value: unknown): number;
  fail(path: string, message: string): never;
}

/** The RoPE of a config (`max_position_embeddings` given as read by the family). */
export function parseRope(raw: Raw, maxPositions: number, source: string): Rope {
  const fail = (path: string, message: string): never => {
    throw new ModelConfigError(source, [{ path, message }]);
  };
  // Python's `rope_scaling or rope_parameters`: null and an empty dict both fall through.
  const given = (v: unknown) => v != null && !(typeof v === 'object' && Object.keys(v).length === 0);
  const scaling = given(raw.rope_scaling);
  const where = scaling ? 'rope_scaling' : 'rope_parameters';
  const dict = scaling ? raw.rope_scaling : given(raw.rope_parameters) ? raw.rope_parameters : {};
  if (typeof dict !== 'object' || Array.isArray(dict)) fail(where, 'expected an object or null');
  const p = dict as Raw;
  const r: Reader = {
    at: (key) => `${where}.${key}`,
    num: (path, value) =>
      typeof value === 'number' && Number.isFinite(value) && value > 0
        ? value
        : fail(path, `expected a positive number, got ${JSON.stringify(value)}`),
    fail,
  };
  const type = ropeType(p, r);
  const partial = p.partial_rotary_factor ?? raw.partial_rotary_factor ?? 1;
  if (partial !== 1)
    fail(
      'partial_rotary_factor',
      `partial rotary embeddings (${JSON.stringify(partial)}) are not supported; expected 1`,
    );
  const theta =
    'rope_theta' in p
      ? r.num(r.at('rope_theta'), p.rope_theta)
      : r.num('rope_theta', raw.rope_theta ?? 10000);
  // transformers takes a top-level original_max_position_embeddings first (Phi-3 writes it there).
  const original = () =>
    raw.original_max_position_embeddings != null
      ? r.num('original_max_position_embeddings', raw.original_max_position_embeddings)
      : r.num(r.at('original_max_position_embeddings'), p.original_max_position_embeddings ?? maxPositions);
  return ropeOf(type, p, r, { theta, maxPositions, original });
}

/** The type named by `rope_type` (or the older `type`), after checking every key the dict holds. */
function ropeType(p: Raw, r: Reader): RopeType {
  const typeKey = 'rope_type' in p ? 'rope_type' : 'type';
  const type = p[typeKey] ?? 'default';
  if (typeof type !== 'string' || !(type in TYPE_KEYS))
    r.fail(
      r.at(typeKey),
      `RoPE type ${JSON.stringify(type)} is not supported; supported: ${ropeTypes.join(', ')}`,
    );
  const t = type as RopeType;
  const common = ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor'];
  for (const key of Object.keys(p)) {
    if (common.includes(key) || TYPE_KEYS[t].includes(key)) continue;
    r.fail(
      r.at(key),
      `not read by RoPE type '${t}' and not supported; '${t}' reads: ${TYPE_KEYS[t].join(', ') || 'nothing'}`,
    );
  }
  return t;
}

function ropeOf(
  type: RopeType,
  p: Raw,
  r: Reader,
  c: { theta: number; maxPositions: number; original: () => number },
): Rope {
  const { theta, maxPositions } = c;
  const factor = () => r.num(r.at('factor'), p.factor);
  switch (type) {
    case 'default':
      return { type, theta };
    case 'linear':
      return { type, theta, factor: factor() };
    case 'dynamic':
      return { type, theta, factor: factor(), maxPositions };
    case 'llama3':
      return {
        type,
        theta,
        factor: factor(),
        lowFreqFactor: r.num(r.at('low_freq_factor'), p.low_freq_factor),
        highFreqFactor: r.num(r.at('high_freq_factor'), p.high_freq_factor),
        originalMaxPositions: c.original(),
      };
    case 'yarn': {
      const originalMaxPositions = c.original();
      const f = p.factor == null ? maxPositions / originalMaxPositions : factor();
      return {
        type,
        theta,
        factor: f,
        originalMaxPositions,
        attentionFactor:
          p.attention_factor != null
            ? r.num(r.at('attention_factor'), p.attention_factor)
            : yarnAttentionFactor(p, f),
        // transformers reads them with `or`: 0 and null both mean the default.
        betaFast: p.beta_fast ? r.num(r.at('beta_fast'), p.beta_fast) : 32,
        betaSlow: p.beta_slow ? r.num(r.at('beta_slow'), p.beta_slow) : 1,
        truncate: p.truncate === undefined ? true : p.truncate === true,
      };
    }
  }
}

/** `_compute_yarn_parameters`' default attention factor: 0.1·m·ln(s) + 1 per mscale, as the paper suggests. */
function yarnAttentionFactor(p: Raw, factor: number): number {
  const mscale = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const m = p.mscale as number | undefined;
  const all = p.mscale_all_dim as number | undefined;
  return m && all ? mscale(factor, m) / mscale(factor, all) : mscale(factor);
}
