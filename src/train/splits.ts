/**
 * A job's dataset on disk: a folder with train/validation/test files (JSONL or a JSON array), or
 * a single training file. Fields come from a preset of the paper's datasets or the job.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DatasetError, type Example, readExamples, type Task } from './data.js';
import type { Job } from './job.js';
import { DATASET_PRESETS } from './presets.js';

export interface Splits {
  readonly train: Example[];
  readonly validation: Example[];
  readonly test: Example[];
  /** What the dataset asks: summaries unless a QA preset says otherwise. */
  readonly task: Task;
  /** The files read, for reports. */
  readonly files: Readonly<Record<'train' | 'validation' | 'test', string | undefined>>;
}

export function loadSplits(d: Job['dataset']): Splits {
  if (!existsSync(d.path)) throw new DatasetError(`dataset ${d.path}: no such file or folder`);
  const preset = d.preset ? DATASET_PRESETS[d.preset] : undefined;
  const readFile = (f: string) =>
    preset
      ? preset.read(f, d.format)
      : readExamples(f, { source: d.source_field, target: d.target_field }, d.format);
  const task = preset?.task ?? 'summarization';
  if (statSync(d.path).isFile()) {
    return {
      task,
      train: readFile(d.path),
      validation: [],
      test: [],
      files: { train: d.path, validation: undefined, test: undefined },
    };
  }
  const file = (name: string) => {
    const f = join(d.path, extname(name) ? name : `${name}.${d.format}`);
    return existsSync(f) ? f : undefined;
  };
  const files = {
    train: file(d.splits.train),
    validation: file(d.splits.validation),
    test: file(d.splits.test),
  };
  if (!files.train)
    throw new DatasetError(`dataset ${d.path}: no training file '${d.splits.train}' (.${d.format})`);
  const read = (f: string | undefined) => (f ? readFile(f) : []);
  return {
    task,
    train: read(files.train),
    validation: read(files.validation),
    test: read(files.test),
    files,
  };
}
