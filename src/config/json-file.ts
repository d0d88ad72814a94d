/**
 * Reading JSON inputs (model configs, importance scores, selection problems) under the JSON size
 * limit, with errors that name the file and, for syntax errors, the line and column.
 */
import { type InputKind, parseJsonText, readTextFile } from './text-file.js';

/** Reads and parses a JSON file; `-` reads standard input. */
export function readJsonFile(path: string, kind: InputKind = 'json'): unknown {
  return parseJsonText(readTextFile(path, kind), path);
}
