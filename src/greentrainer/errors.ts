/**
 * Errors of the planning core. Each constructor takes the facts and builds a message that names
 * the input, the field and what was expected; callers print `message` as it is.
 */
import type { ZodError } from 'zod';

/** One problem found while validating an input, as data. */
export interface Issue {
  /** Dotted path of the field, e.g. `num_attention_heads` or `t_dy.3`; empty for the whole input. */
  readonly path: string;
  readonly message: string;
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('\n');
}

/** An input rejected for one or more issues; the message lists them under the input's name. */
abstract class IssuesError extends Error {
  constructor(
    what: string,
    readonly source: string,
    readonly issues: readonly Issue[],
  ) {
    super(`invalid ${what} ${source}:\n${formatIssues(issues)}`);
  }
}

/** A Hugging Face `config.json` that greentrainer cannot build a model from. */
export class ModelConfigError extends IssuesError {
  override readonly name = 'ModelConfigError';
  constructor(source: string, issues: readonly Issue[]) {
    super('model config', source, issues);
  }
}

/** ρ outside (0, 1], or too small for any tensor to be trained. */
export class RhoError extends Error {
  override readonly name = 'RhoError';
}

/** A selection problem whose numbers do not fit together. */
export class SelectionInputError extends IssuesError {
  override readonly name = 'SelectionInputError';
  constructor(source: string, issues: readonly Issue[]) {
    super('selection input', source, issues);
  }
}

/** zod's issues as ours. */
export function toIssues(error: ZodError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
