/**
 * Reading policy files: the `policy:` block itself, or a document with `policy:` as its only
 * top-level key. Every problem, from a YAML syntax error to a ρ outside (0, 1], is reported as
 * `file:line:col: path: message` (src/config/yaml-file.ts).
 */

import { readTextFile } from '../config/text-file.js';
import { ConfigFileError, type ConfigIssue, parseYamlConfig } from '../config/yaml-file.js';
import { type Policy, policySchema, policyTimeIssues } from './schema.js';

export type PolicyIssue = ConfigIssue;

export class PolicyFileError extends ConfigFileError {
  override readonly name = 'PolicyFileError';
  constructor(file: string, issues: readonly PolicyIssue[]) {
    super(file, issues, 'policy');
  }
}

/** Reads a policy file; with `now`, its deadline must also lie ahead of it. */
export function readPolicyFile(file: string, now?: Date): Policy {
  return parsePolicy(readTextFile(file, 'config'), file, now);
}

/** Parses and validates policy YAML; `file` names it in errors. */
export function parsePolicy(text: string, file: string, now?: Date): Policy {
  try {
    return parseYamlConfig(text, file, policySchema, {
      optionalRoot: 'policy',
      what: 'policy',
      ...(now ? { check: (p: Policy) => policyTimeIssues(p, now) } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigFileError) throw new PolicyFileError(file, error.issues);
    throw error;
  }
}
