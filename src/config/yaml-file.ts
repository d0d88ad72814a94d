/**
 * Reading YAML configs (jobs, daemon configs, policies) against a zod schema, under the config
 * size limit, with errors that name the file, the line and column of the offending node, the
 * field and what was expected. A document that is not a map of the schema's keys (a file that is
 * not a config at all: `/etc/shadow`) is refused without quoting any of it.
 */
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
  visit,
} from 'yaml';
import { z } from 'zod';
import { readTextFile } from './text-file.js';

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

/** A rule that needs more than the document (the time now): returns its problems by path. */
export type ConfigCheck<T> = (value: T) => ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>;

export interface YamlOptions<T = unknown> {
  /** Accept the document either as the schema's shape or wrapped in this one top-level key. */
  readonly optionalRoot?: string;
  /** What the file holds, for messages ("policy"). */
  readonly what?: string;
  readonly check?: ConfigCheck<T>;
}

/** YAML's own messages for input it cannot follow, reworded to say what is wrong with the file. */
const TOO_DEEP = 'nested too deeply to read (configs are a few levels deep)';

/** Parses `text` (from `file`) and validates it with `schema`. */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: YamlOptions<z.output<S>> = {},
): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const fail = (issues: Array<Omit<ConfigIssue, 'file' | 'line' | 'column'> & { offset: number }>) =>
    new ConfigFileError(
      file,
      issues.map(({ offset, ...i }) => ({ ...i, ...at(offset) })),
      options.what,
    );
  if (doc.errors.length > 0) {
    throw fail(
      doc.errors.map((e) => ({
        path: '',
        offset: e.pos[0],
        message: /call stack/.test(e.message) ? TOO_DEEP : e.message.split('\n')[0]!,
      })),
    );
  }
  const root = options.optionalRoot;
  const wrapped =
    root !== undefined && isMap(doc.contents) && doc.contents.items.length === 1 && doc.has(root);
  const prefix = wrapped ? [root] : [];
  const json = toJS(doc, fail);
  const value = wrapped ? (json as Record<string, unknown>)[root] : json;
  const foreign = notThisKindOfFile(value, schema, options.what ?? 'config');
  if (foreign) throw fail([{ path: prefix.join('.'), offset: 0, message: foreign }]);
  const parsed = schema.safeParse(value);
  const located = (path: readonly PropertyKey[], message: string, unknown: readonly string[] = []) => {
    const full = [...prefix, ...path.map(String)];
    const shown = unknown.length > 0 ? [...full, unknown[0]!] : full;
    return { path: shown.join('.'), offset: offsetOf(doc, full, unknown[0]), message };
  };
  if (!parsed.success) {
    throw fail(
      parsed.error.issues.map((issue) => {
        const unknown = issue.code === 'unrecognized_keys' ? issue.keys : [];
        const message =
          unknown.length > 0
            ? `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`
            : issue.message;
        return located(issue.path, message, unknown);
      }),
    );
  }
  const problems = options.check?.(parsed.data) ?? [];
  if (problems.length > 0) throw fail(problems.map((p) => located(p.path, p.message)));
  return parsed.data;
}

/** The document as plain data; an alias bomb or a nesting too deep is a located error. */
function toJS(
  doc: Document,
  fail: (issues: Array<{ path: string; offset: number; message: string }>) => ConfigFileError,
): unknown {
  try {
    return doc.toJS() ?? {};
  } catch (error) {
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
    let offset = 0;
    if (error instanceof ReferenceError)
      visit(doc, {
        Alias(_, node) {
          offset = node.range?.[0] ?? 0;
          return visit.BREAK;
        },
      });
    const message =
      error instanceof ReferenceError
        ? 'too many alias expansions (*name): a YAML alias bomb? Write the values out'
        : TOO_DEEP;
    throw fail([{ path: '', offset, message }]);
  }
}

/**
 * Why `value` is not a document of this kind at all (a scalar, a list, or a map with none of the
 * schema's keys), or undefined. Names no key of the document: it may be a line of a secret file.
 */
function notThisKindOfFile(value: unknown, schema: z.ZodType, what: string): string | undefined {
  if (!(schema instanceof z.ZodObject)) return undefined;
  const keys = Object.keys(schema.shape as Record<string, unknown>);
  const expected = `expected a ${what}: a YAML map with keys such as ${keys.slice(0, 4).join(', ')}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected;
  const own = Object.keys(value);
  if (own.length > 0 && !own.some((k) => keys.includes(k)))
    return `${expected}; none of its ${own.length} top-level key${own.length > 1 ? 's is one' : ' is one'}`;
  return undefined;
}

/** Reads and validates a YAML file. */
export function readYamlConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  options: YamlOptions<z.output<S>> = {},
): z.output<S> {
  return parseYamlConfig(readTextFile(file, 'config'), file, schema, options);
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
