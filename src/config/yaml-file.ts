/**
 * Reading YAML configs (jobs, daemon configs) against a zod schema, with errors that name the
 * file, the line and column of the offending node, the field and what was expected.
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
import { InputFileError } from './json-file.js';

/** One problem in a config file, located. */
export interface ConfigIssue {
  readonly file: string;
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export class ConfigFileError extends Error {
  override readonly name: string = 'ConfigFileError';
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
    what = 'config',
  ) {
    super(
      `invalid ${what} ${file}:\n${issues
        .map((i) => `  ${i.file}:${i.line}:${i.column}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`)
        .join('\n')}`,
    );
  }
}

export interface YamlOptions {
  /** Accept the document either as the schema's shape or wrapped in this one top-level key. */
  readonly optionalRoot?: string;
}

/** Parses `text` (from `file`) and validates it with `schema`. */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: YamlOptions = {},
): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => ({ path: '', ...at(e.pos[0]), message: e.message.split('\n')[0]! })),
    );
  }
  const root = options.optionalRoot;
  const wrapped =
    root !== undefined && isMap(doc.contents) && doc.contents.items.length === 1 && doc.has(root);
  const prefix = wrapped ? [root] : [];
  const json = (doc.toJS() ?? {}) as Record<string, unknown>;
  const parsed = schema.safeParse(wrapped ? json[root] : json);
  if (parsed.success) return parsed.data;
  throw new ConfigFileError(
    file,
    parsed.error.issues.map((issue) => {
      const path = [...prefix, ...issue.path.map(String)];
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const shown = unknown.length > 0 ? [...path, unknown[0]!] : path;
      const message =
        unknown.length > 0
          ? `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`
          : issue.message;
      return { path: shown.join('.'), ...at(offsetOf(doc, path, unknown[0])), message };
    }),
  );
}

/** Reads and validates a YAML file. */
export function readYamlConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  options: YamlOptions = {},
): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new InputFileError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : String(cause)}`, {
      cause,
    });
  }
  return parseYamlConfig(text, file, schema, options);
}

/** Where the deepest node on `path` starts; for an unknown key, the key itself. 0: the document. */
function offsetOf(doc: Document, path: readonly string[], unknownKey?: string): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  const keys = unknownKey === undefined ? path : [...path, unknownKey];
  for (const [k, key] of keys.entries()) {
    const next = child(node, key);
    if (!next) break;
    const target = unknownKey !== undefined && k === keys.length - 1 ? next.key : next.value;
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
