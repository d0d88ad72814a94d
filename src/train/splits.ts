/**
 * A job's dataset on disk: a folder with train/validation/test files (JSONL or a JSON array), or
 * a single training file. Fields come from a preset of the paper's datasets or the job.
 */
import { existsSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DatasetError, type Example, PRESETS, readExamples } from './data.js';
import type { Job } from './job.js';

export interface Splits {
  readonly train: Example[];
  readonly validation: Example[];
  readonly test: Example[];
  /** The files read, for reports. */
  readonly files: Readonly<Record<'train' | 'validation' | 'test', string | undefined>>;
}

export function loadSplits(d: Job['dataset']): Splits {
  if (!existsSync(d.path)) throw new DatasetError(`dataset ${d.path}: no such file or folder`);
  const fields = d.preset ? PRESETS[d.preset] : { source: d.source_field, target: d.target_field };
  if (statSync(d.path).isFile()) {
    return {
      train: readExamples(d.path, fields, d.format),
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
  const read = (f: string | undefined) => (f ? readExamples(f, fields, d.format) : []);
  return { train: read(files.train), validation: read(files.validation), test: read(files.test), files };
}
