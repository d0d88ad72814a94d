/**
 * Reading any text file the program parses, under one size limit per kind of file. The size is
 * checked before anything is read, and a device or pipe (`/dev/zero`, stdin) is read in chunks
 * only up to the limit, so no input can make the program allocate more than its limit.
 * Errors name the file and the limit, never the file's contents.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const MiB = 1024 * 1024;

/** Bytes each kind of input may hold. */
export const SIZE_LIMITS = {
  /** Daemon configs, jobs, policies: hand-written YAML is a few kB. */
  config: MiB,
  /** Model config.json, importance scores, selection problems (13 000 tensors take ~1 MB). */
  json: 16 * MiB,
  /** Carbon traces: a year of 5-minute points as CSV is ~4 MB. */
  trace: 16 * MiB,
  /** tokenizer.json: Llama 3's is 9 MB. */
  tokenizer: 64 * MiB,
  /** Checkpoint state.json and MANIFEST.json, the daemon's run log. */
  state: 64 * MiB,
  /** One record of a JSONL dataset, or a whole JSON-array dataset. */
  record: MiB,
  dataset: 1024 * MiB,
} as const;

export type InputKind = keyof typeof SIZE_LIMITS;

export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/** "1 MiB", "64 MiB". */
export function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

/** The error for an input past its limit. */
export function tooLarge(what: string, kind: InputKind): InputFileError {
  return new InputFileError(
    `${what}: larger than the ${formatBytes(SIZE_LIMITS[kind])} limit for a ${kind} file`,
  );
}

/** Reads `path` (`-`: standard input) as UTF-8, refusing it past the limit for `kind`. */
export function readTextFile(path: string, kind: InputKind): string {
  const limit = SIZE_LIMITS[kind];
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (cause) {
    throw new InputFileError(`cannot read ${path}: ${why(cause)}`, { cause });
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputFileError(`cannot read ${path}: is a directory`);
    if (stat.isFile() && stat.size > limit) throw tooLarge(path, kind);
    return readUpTo(fd, limit, path, kind);
  } catch (cause) {
    if (cause instanceof InputFileError) throw cause;
    throw new InputFileError(`cannot read ${path}: ${why(cause)}`, { cause });
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

function readUpTo(fd: number, limit: number, path: string, kind: InputKind): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EOF') break;
      throw error;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw tooLarge(path, kind);
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function why(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return code ?? (cause as Error).message;
}

/**
 * JSON.parse with a located message that never quotes the text: V8's messages show the bytes
 * around the error, which for a file that is not JSON (`/etc/passwd`) are its contents.
 */
export function parseJsonText(text: string, what: string, firstLine = 1): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InputFileError(`${what}: invalid JSON${locate(text, (cause as Error).message, firstLine)}`, {
      cause,
    });
  }
}

/** " at line L, column C: problem" from V8's message, without the text V8 quotes. */
function locate(text: string, message: string, firstLine: number): string {
  const at = (offset: number, problem: string) => {
    const before = text.slice(0, offset);
    const line = firstLine - 1 + before.split('\n').length;
    return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}: ${problem}`;
  };
  const positioned = /^(.*) in JSON at position (\d+)/.exec(message);
  if (positioned) return at(Number(positioned[2]), positioned[1]!);
  // "Unexpected token 'x', "<the text>" is not valid JSON": V8 names no position; the token's
  // first occurrence is where it stopped for the inputs that give this message.
  const token = /^Unexpected token '(.)'/u.exec(message)?.[1];
  if (token !== undefined)
    return at(
      Math.max(0, text.indexOf(token)),
      token === '\uFEFF'
        ? 'a UTF-8 byte-order mark (U+FEFF); save the file without it'
        : 'unexpected character',
    );
  return text.trim() === '' ? ': the file is empty' : ': it ends before the JSON value does';
}
