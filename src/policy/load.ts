/**
 * Reading policy files: the `policy:` block itself, or a document with `policy:` as its only
 * top-level key. Every problem, from a YAML syntax error to a ρ outside (0, 1], is reported as
 * `file:line:col: path: message` (src/config/yaml-file.ts).
 */
import { readFileSync } from 'node:fs';
import { ConfigFileError, type ConfigIssue, parseYamlConfig } from '../config/yaml-file.js';
import { type Policy, policySchema } from './schema.js';

export type PolicyIssue = ConfigIssue;

export class PolicyFileError extends ConfigFileError {
  override readonly name = 'PolicyFileError';
  constructor(file: string, issues: readonly PolicyIssue[]) {
    super(file, issues, 'policy');
  }
}

export function readPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new PolicyFileError(file, [
      { file, line: 0, column: 0, path: '', message: `cannot read: ${code}` },
    ]);
  }
  return parsePolicy(text, file);
}

/** Parses and validates policy YAML; `file` names it in errors. */
export function parsePolicy(text: string, file: string): Policy {
  try {
    return parseYamlConfig(text, file, policySchema, { optionalRoot: 'policy' });
  } catch (error) {
    if (error instanceof ConfigFileError) throw new PolicyFileError(file, error.issues);
    throw error;
  }
}
