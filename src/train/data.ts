/**
 * Fine-tuning data: JSONL or JSON records with configurable source and target fields, presets for
 * the paper's datasets as published on the Hugging Face hub (SciTLDR: `source` sentences → first
 * `target`; DialogSum: `dialogue` → `summary`; the QA presets are in `qa-data.ts`), the paper's
 * prompts for decoder-only and encoder-decoder models, source truncation so the prompt fits, loss on
 * the target tokens only, and seeded shuffling.
 */
import { parseJsonText, readTextFile, SIZE_LIMITS, tooLarge } from '../config/text-file.js';

export interface Example {
  readonly source: string;
  readonly target: string;
  /** Every accepted answer (question answering); `target`, the one trained on, is the first. */
  readonly answers?: readonly string[];
  /** Candidate answers and the index of the right one (multiple choice); `target` is the right one. */
  readonly choices?: readonly string[];
  readonly label?: number;
}

/** Maps one parsed record (the `index`-th, 0-based) to an example, or throws naming `where`. */
export type RecordReader = (record: Record<string, unknown>, where: string, index: number) => Example;

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
  fields: DatasetFields | RecordReader,
  format: DatasetFormat = 'jsonl',
): Example[] {
  const read = typeof fields === 'function' ? fields : fieldReader(fields);
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
  const examples = records.map(([n, r], i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw new DatasetError(`${where(n)}: expected a JSON object`);
    return read(r as Record<string, unknown>, where(n), i);
  });
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

function fieldReader(fields: DatasetFields): RecordReader {
  return (r, where) => {
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
  };
}

function text(value: unknown, list: 'join' | 'first'): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return list === 'join' ? value.join(' ') : (value[0] as string);
  }
  return undefined;
}

/**
 * Prompts, as [head, tail] around the source. Summarisation: the paper's "[source] TL;DR: " for
 * decoder-only models and T5's own "summarize: [source]" for T5. Question answering and multiple
 * choice: lm-evaluation-harness's "Question: [q]\nAnswer:" for decoder-only models, and T5's
 * "question: [q]" for T5.
 */
const PROMPTS = {
  tldr: ['', ' TL;DR: '],
  summarize: ['summarize: ', ''],
  answer: ['Question: ', '\nAnswer:'],
  question: ['question: ', ''],
} as const;

export type PromptStyle = keyof typeof PROMPTS;

/** What a dataset asks of the model: its evaluation metric follows (ROUGE, EM/F1, accuracy). */
export type Task = 'summarization' | 'qa' | 'choice';

/** The prompt for a task and a kind of model. */
export function promptFor(task: Task, encoderDecoder: boolean): PromptStyle {
  if (task === 'summarization') return encoderDecoder ? 'summarize' : 'tldr';
  return encoderDecoder ? 'question' : 'answer';
}

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
  const specials = tok.encode('', true);
  const prompt = [...specials, ...promptIds(e, tok, o, specials.length)];
  const target = targetIds(` ${e.target}`, tok, o);
  return { ids: [...prompt, ...target], labels: [...prompt.map(() => -100), ...target] };
}

/** An encoder-decoder training pair: the encoder's input, and the decoder's targets (all scored). */
export interface Seq2SeqSequence {
  /** Prompt and source within the tokenizer's special tokens (T5: `</s>` after them). */
  readonly ids: number[];
  /** Target then EOS; the decoder input is these shifted right after the start token. */
  readonly labels: number[];
}

/**
 * Encodes one example for an encoder-decoder model as its tokenizer's template does (T5: `</s>`
 * after the input): prompt head, source cut to fit `maxInputLength`, prompt tail, with the
 * template's special tokens around them; the target cut to `maxOutputLength − 1` tokens, then EOS.
 */
export function encodeSeq2Seq(e: Example, tok: Encoder, o: EncodeOptions): Seq2SeqSequence {
  const { before, after } = specialTokens(tok);
  return {
    ids: [...before, ...promptIds(e, tok, o, before.length + after.length), ...after],
    labels: targetIds(e.target, tok, o),
  };
}

/** The special tokens the tokenizer's template puts before and after a text (T5: `</s>` after). */
function specialTokens(tok: Encoder): { before: number[]; after: number[] } {
  const plain = tok.encode('a', false);
  const full = tok.encode('a', true);
  const at = full.findIndex((_, i) => plain.every((id, k) => full[i + k] === id));
  return at < 0
    ? { before: [], after: [] }
    : { before: full.slice(0, at), after: full.slice(at + plain.length) };
}

/** Prompt head, the source cut by tokens to what fits beside `reserved` special tokens, prompt tail. */
function promptIds(e: Example, tok: Encoder, o: EncodeOptions, reserved: number): number[] {
  const [head, tail] = PROMPTS[o.prompt].map((t) => (t ? tok.encode(t, false) : []));
  const room = o.maxInputLength - reserved - head!.length - tail!.length;
  if (room <= 0)
    throw new DatasetError(
      `max_input_length ${o.maxInputLength} leaves no room for the source after the prompt`,
    );
  return [...head!, ...tok.encode(e.source, false).slice(0, room), ...tail!];
}

function targetIds(target: string, tok: Encoder, o: EncodeOptions): number[] {
  return [...tok.encode(target, false).slice(0, Math.max(0, o.maxOutputLength - 1)), o.eosId];
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

export interface Seq2SeqBatch {
  readonly ids: number[][];
  readonly mask: number[][];
  readonly decoderIds: number[][];
  readonly labels: number[][];
}

/**
 * Right-pads encoder inputs (pad id, mask 0) and targets (−100) separately; the decoder input is
 * the targets shifted right after `startId`, as Hugging Face's `_shift_right` (−100 → pad id).
 */
export function padSeq2SeqBatch(
  sequences: readonly Seq2SeqSequence[],
  padId: number,
  startId: number,
): Seq2SeqBatch {
  const inputs = padBatch(
    sequences.map((s) => ({ ids: s.ids, labels: s.ids })),
    padId,
  );
  const labels = padBatch(
    sequences.map((s) => ({ ids: s.labels, labels: s.labels })),
    padId,
  ).labels;
  return {
    ids: inputs.ids,
    mask: inputs.mask,
    decoderIds: labels.map((row) => [startId, ...row.slice(0, -1).map((l) => (l === -100 ? padId : l))]),
    labels,
  };
}
