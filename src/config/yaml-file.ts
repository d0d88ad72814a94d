/**
 * Reading YAML configs (jobs, daemon configs) against a zod schema, with errors that name the
 * file, the line and column of the offending node, the field and what was expected.
 */
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { InputFileError } from './json-file.js';

/** One problem in a config file, located. */
export interface ConfigIssue {
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `invalid config ${file}:\n${issues
        .map((i) => `  ${file}:${i.line}:${i.column}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`)
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
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => ({ path: '', ...at(e.pos[0]), message: e.message.split('\n')[0]! })),
    );
  }
  let value = doc.toJS() ?? {};
  let prefix: string[] = [];
  const root = options.optionalRoot;
  if (
    root &&
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    root in value
  ) {
    value = (value as Record<string, unknown>)[root];
    prefix = [root];
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigFileError(
    file,
    parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const path = [...prefix, ...issue.path.map(String), ...keys.slice(0, 1)];
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`
          : issue.message;
      return { path: path.join('.'), ...at(offsetOf(doc, path)), message };
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

/** Where the deepest existing node on `path` starts (a key's own position for map entries). */
function offsetOf(doc: ReturnType<typeof parseDocument>, path: readonly string[]): number {
  let node: unknown = doc.contents;
  let offset = (node as { range?: number[] } | null)?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value) === key);
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node) {
      const item = (node as { items: unknown[] }).items[Number(key)];
      if (!item) break;
      offset = (item as { range?: number[] }).range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}
