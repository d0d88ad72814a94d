/**
 * Validation of Hugging Face `config.json` objects: each family declares the fields it reads as a
 * zod schema; unknown fields are kept (configs carry many we do not need).
 */
import { z } from 'zod';
import { ModelConfigError, toIssues } from '../errors.js';
import type { Activation } from '../graph.js';

export const positiveInt = z.number().int().positive();

export function parseConfig<T>(schema: z.ZodType<T>, raw: unknown, source: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ModelConfigError(source, toIssues(parsed.error));
}

/** Fails unless `a` divides evenly by `b`, naming both fields. */
export function requireDivisible(source: string, a: [string, number], b: [string, number]): void {
  if (a[1] % b[1] !== 0) {
    throw new ModelConfigError(source, [
      { path: a[0], message: `${a[0]} (${a[1]}) must be a multiple of ${b[0]} (${b[1]})` },
    ]);
  }
}

/** Hugging Face activation names (`ACT2FN` keys) mapped onto the ones the FLOPs model knows. */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  relu: 'relu',
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
};

export function activationOf(source: string, field: string, name: string): Activation {
  const fn = ACTIVATIONS[name];
  if (fn) return fn;
  throw new ModelConfigError(source, [
    { path: field, message: `unknown activation '${name}'; known: ${Object.keys(ACTIVATIONS).join(', ')}` },
  ]);
}

/** Config fields that bound the positions a model attends over (learned position tables, RoPE's range). */
const CONTEXT_FIELDS = ['max_position_embeddings', 'n_positions', 'n_ctx'] as const;

/** Tokens one sequence may hold, and the field that says so; undefined when unbounded (ALiBi, T5). */
export function contextLength(config: unknown): { tokens: number; field: string } | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as Record<string, unknown>;
  if (c.model_type === 't5' || c.model_type === 'bloom') return undefined;
  for (const field of CONTEXT_FIELDS) {
    const v = c[field];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { tokens: v, field };
  }
  return undefined;
}
