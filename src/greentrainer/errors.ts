/**
 * Errors of the planning core. Each constructor takes the facts and builds a message that names
 * the input, the field and what was expected; callers print `message` as it is.
 */

/** One problem found while validating an input, as data. */
export interface Issue {
  /** Dotted path of the field, e.g. `num_attention_heads` or `t_dy.3`; empty for the whole input. */
  readonly path: string;
  readonly message: string;
}

export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  - ${i.path === '' ? '(root)' : i.path}: ${i.message}`).join('\n');
}

/** A Hugging Face `config.json` that greentrainer cannot build a model from. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  constructor(
    readonly source: string,
    readonly issues: readonly Issue[],
  ) {
    super(`invalid model config ${source}:\n${formatIssues(issues)}`);
  }
}

/** ρ outside (0, 1], or too small for any tensor to be trained. */
export class RhoError extends Error {
  override readonly name = 'RhoError';
}

/** A selection problem whose numbers do not fit together. */
export class SelectionInputError extends Error {
  override readonly name = 'SelectionInputError';
  constructor(
    readonly source: string,
    readonly issues: readonly Issue[],
  ) {
    super(`invalid selection input ${source}:\n${formatIssues(issues)}`);
  }
}
