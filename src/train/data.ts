/**
 * Summarisation data for fine-tuning: JSONL or JSON records with configurable source and target
 * fields, presets for the paper's datasets as published on the Hugging Face hub (SciTLDR: `source`
 * sentences → first `target`; DialogSum: `dialogue` → `summary`), the paper's prompts, source
 * truncation so the prompt fits, loss on the target tokens only, and seeded shuffling.
 */
import { parseJsonText, readTextFile, SIZE_LIMITS, tooLarge } from '../config/text-file.js';

export interface Example {
  readonly source: string;
  readonly target: string;
}

export type DatasetFormat = 'jsonl' | 'json';

export interface DatasetFields {
  /** Field holding the source text (a string, or a list of sentences joined by spaces). */
  readonly source: string;
  /** Field holding the target (a string, or a list whose first entry is used). */
  readonly target: string;
}

/** Field names of the paper's datasets. */
export const PRESETS: Readonly<Record<'scitldr' | 'dialogsum', DatasetFields>> = {
  scitldr: { source: 'source', target: 'target' },
  dialogsum: { source: 'dialogue', target: 'summary' },
};

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

/**
 * Reads examples, failing on the first malformed record with its file and line. A JSON file, and
 * each JSONL line, is held to its size limit; messages never quote a record.
 */
export function readExamples(
  file: string,
  fields: DatasetFields,
  format: DatasetFormat = 'jsonl',
): Example[] {
  const text = readDataset(file);
  const records: Array<[number, unknown]> =
    format === 'json'
      ? parseJsonArray(file, text).map((r, i) => [i + 1, r])
      : text
          .split('\n')
          .flatMap(
            (line, i): Array<[number, unknown]> =>
              line.trim() === '' ? [] : [[i + 1, parseLine(file, i + 1, line)]],
          );
  const where = (n: number) => (format === 'json' ? `${file}: record ${n}` : `${file}:${n}`);
  const examples = records.map(([n, r]) => toExample(r, fields, where(n)));
  if (examples.length === 0) throw new DatasetError(`${file}: no examples`);
  return examples;
}

function readDataset(file: string): string {
  try {
    return readTextFile(file, 'dataset');
  } catch (error) {
    throw new DatasetError((error as Error).message, { cause: error });
  }
}

function parseLine(file: string, line: number, text: string): unknown {
  if (Buffer.byteLength(text) > SIZE_LIMITS.record)
    throw new DatasetError(tooLarge(`${file}:${line}`, 'record').message);
  try {
    return parseJsonText(text, file, line);
  } catch (error) {
    throw new DatasetError((error as Error).message, { cause: error });
  }
}

function parseJsonArray(file: string, text: string): unknown[] {
  let value: unknown;
  try {
    value = parseJsonText(text, file);
  } catch (error) {
    throw new DatasetError((error as Error).message, { cause: error });
  }
  if (!Array.isArray(value)) throw new DatasetError(`${file}: expected a JSON array of records`);
  return value;
}

function toExample(record: unknown, fields: DatasetFields, where: string): Example {
  if (typeof record !== 'object' || record === null)
    throw new DatasetError(`${where}: expected a JSON object`);
  const r = record as Record<string, unknown>;
  const source = text(r[fields.source], 'join');
  const target = text(r[fields.target], 'first');
  if (source === undefined)
    throw new DatasetError(
      `${where}: field '${fields.source}' must be a non-empty string or list of strings`,
    );
  if (target === undefined)
    throw new DatasetError(
      `${where}: field '${fields.target}' must be a non-empty string or list of strings`,
    );
  return { source, target };
}

function text(value: unknown, list: 'join' | 'first'): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return list === 'join' ? value.join(' ') : (value[0] as string);
  }
  return undefined;
}

/** The paper's prompts: "[source] TL;DR: " for decoder-only models, "summarize: [source]" for T5. */
export type PromptStyle = 'tldr' | 'summarize';

export interface Encoder {
  encode(text: string, addSpecialTokens?: boolean): number[];
}

export interface EncodeOptions {
  readonly prompt: PromptStyle;
  readonly maxInputLength: number;
  readonly maxOutputLength: number;
  readonly eosId: number;
}

/** A decoder-only training sequence: prompt then target, with labels on the target only. */
export interface CausalSequence {
  readonly ids: number[];
  /** −100 on prompt positions: the loss counts the target (and its EOS) only. */
  readonly labels: number[];
}

/**
 * Encodes one example for a causal LM: special tokens, prompt head, source, prompt tail, target,
 * EOS. The pieces are tokenised separately, so the source is cut by tokens to exactly what fits
 * `maxInputLength`; the target is cut to `maxOutputLength − 1` tokens and ends with EOS.
 */
export function encodeCausal(e: Example, tok: Encoder, o: EncodeOptions): CausalSequence {
  const [head, tail] = (o.prompt === 'tldr' ? ['', ' TL;DR: '] : ['summarize: ', '']).map((t) =>
    t ? tok.encode(t, false) : [],
  );
  const specials = tok.encode('', true);
  const room = o.maxInputLength - specials.length - head!.length - tail!.length;
  if (room <= 0)
    throw new DatasetError(
      `max_input_length ${o.maxInputLength} leaves no room for the source after the prompt`,
    );
  const prompt = [...specials, ...head!, ...tok.encode(e.source, false).slice(0, room), ...tail!];
  const target = [...tok.encode(` ${e.target}`, false).slice(0, Math.max(0, o.maxOutputLength - 1)), o.eosId];
  return { ids: [...prompt, ...target], labels: [...prompt.map(() => -100), ...target] };
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Indices 0…n−1 in an order fixed by (seed, epoch): Fisher–Yates with mulberry32. */
export function shuffledOrder(n: number, seed: number, epoch: number): number[] {
  const next = mulberry32(seed * 2654435761 + epoch * 40503);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export interface Batch {
  readonly ids: number[][];
  readonly mask: number[][];
  readonly labels: number[][];
}

/** Right-pads sequences to the longest: pad id, mask 0, label −100. */
export function padBatch(sequences: readonly CausalSequence[], padId: number): Batch {
  const length = Math.max(...sequences.map((s) => s.ids.length));
  const pad = <T>(xs: readonly T[], fill: T) => [
    ...xs,
    ...Array.from({ length: length - xs.length }, () => fill),
  ];
  return {
    ids: sequences.map((s) => pad(s.ids, padId)),
    mask: sequences.map((s) =>
      pad(
        s.ids.map(() => 1),
        0,
      ),
    ),
    labels: sequences.map((s) => pad(s.labels, -100)),
  };
}
