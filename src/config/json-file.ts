/**
 * Reading JSON inputs (model configs, importance scores, selection problems) with errors that name
 * the file and, for syntax errors, the line and column.
 */
import { readFileSync } from 'node:fs';

export class InputFileError extends Error {
  override readonly name = 'InputFileError';
}

/** Reads and parses a JSON file; `-` reads standard input. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(cause);
    throw new InputFileError(`cannot read ${path}: ${why}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InputFileError(`${path}: invalid JSON${locate(text, (cause as Error).message)}`, { cause });
  }
}

/** Turns V8's "at position N" into " at line L, column C: <message>". */
function locate(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return `: ${message}`;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}: ${message.replace(/ in JSON at position \d+.*$/, '')}`;
}
