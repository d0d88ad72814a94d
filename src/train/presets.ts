/**
 * Dataset presets: the paper's summarisation datasets and its appendix QA tasks, each with the task
 * it poses (which decides the prompt and the metric) and how its files are read.
 */
import { type DatasetFormat, type Example, PRESETS, readExamples, type Task } from './data.js';
import { readPiqa, readWebQuestions } from './qa-data.js';

export interface DatasetPreset {
  readonly task: Task;
  readonly read: (file: string, format: DatasetFormat) => Example[];
}

export const DATASET_PRESETS = {
  scitldr: { task: 'summarization', read: (f, format) => readExamples(f, PRESETS.scitldr, format) },
  dialogsum: { task: 'summarization', read: (f, format) => readExamples(f, PRESETS.dialogsum, format) },
  webquestions: { task: 'qa', read: readWebQuestions },
  piqa: { task: 'choice', read: readPiqa },
} as const satisfies Record<string, DatasetPreset>;

export type PresetName = keyof typeof DATASET_PRESETS;

export const presetNames = Object.keys(DATASET_PRESETS) as [PresetName, ...PresetName[]];
