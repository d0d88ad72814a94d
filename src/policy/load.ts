/**
 * Reading policy files: YAML parsed with `yaml`, keeping node ranges so that every problem, from
 * a syntax error to a ρ outside (0, 1], is reported as `file:line:col: path: message`. A file is
 * the `policy:` block itself, or a document with `policy:` as its only top-level key.
 */
import { readFileSync } from 'node:fs';
import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml';
import type { z } from 'zod';
import { type Policy, policySchema } from './schema.js';

export interface PolicyIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';
  constructor(
    readonly file: string,
    readonly issues: readonly PolicyIssue[],
  ) {
    super(
      `invalid policy ${file}:\n${issues.map((i) => `  ${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')}`,
    );
  }
}

export function readPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const issue = {
      file,
      line: 0,
      column: 0,
      path: '',
      message: `cannot read: ${(cause as NodeJS.ErrnoException).code}`,
    };
    throw new PolicyFileError(file, [issue]);
  }
  return parsePolicy(text, file);
}

/** Parses and validates policy YAML; `file` names it in errors. */
export function parsePolicy(text: string, file: string): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  if (doc.errors.length > 0)
    throw new PolicyFileError(
      file,
      doc.errors.map((e) => ({ ...at(e.pos[0]), path: '', message: e.message.split('\n')[0]! })),
    );
  const wrapped = isMap(doc.contents) && doc.contents.items.length === 1 && doc.has('policy');
  const prefix = wrapped ? ['policy'] : [];
  const json = doc.toJS() as Record<string, unknown> | null;
  const result = policySchema.safeParse(wrapped ? json?.policy : json);
  if (result.success) return result.data;
  throw new PolicyFileError(
    file,
    result.error.issues.map((issue) => {
      const path = [...prefix, ...issue.path.map(String)];
      const shown = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
      return { ...at(offsetOf(doc, path, issue)), path: shown.join('.'), message: describe(issue) };
    }),
  );
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  return issue.message;
}

/** Offset of the deepest node on `path` (the key itself for unknown keys); 0 for the document. */
function offsetOf(doc: Document, path: readonly string[], issue: z.core.$ZodIssue): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  const keys = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
  for (const [k, key] of keys.entries()) {
    const next = child(node, key);
    if (!next) break;
    const isLastUnknownKey = issue.code === 'unrecognized_keys' && k === keys.length - 1;
    const target = isLastUnknownKey ? next.key : next.value;
    if (isNode(target) && target.range) offset = target.range[0];
    node = next.value;
  }
  return offset;
}

function child(node: unknown, key: string): { key: unknown; value: Node | undefined } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    return pair ? { key: pair.key, value: pair.value as Node | undefined } : undefined;
  }
  if (isSeq(node)) {
    const item = node.items[Number(key)];
    return item === undefined ? undefined : { key: item, value: item as Node };
  }
  return undefined;
}
