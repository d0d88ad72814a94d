/**
 * The daemon's record of a run, `timeline.jsonl` in the run folder: one JSON line per trainer
 * start, evaluation, step, re-selection and decision, with the wall time the daemon saw it, and the carbon
 * replay's origin when the provider is a trace. `policy simulate --from-run` reads it to measure
 * the machine and to compare its prediction with what happened. Appending never throws: a full
 * disk costs the log, not the daemon (the failure is reported once through `onError`).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText, readTextFile } from '../config/text-file.js';

export type RunLogRecord =
  | { type: 'trace'; time: string; file: string; speed: number }
  | {
      type: 'start';
      time: string;
      step: number;
      total_steps: number;
      rho_floor: number;
      interval_steps: number;
      checkpoint_steps: number;
    }
  | {
      type: 'step';
      time: string;
      step: number;
      rho: number;
      flops: number;
      full_flops: number;
      joules: number;
    }
  | { type: 'selection'; time: string; step: number; rho: number; ratio: number; seconds: number }
  | { type: 'evaluation'; time: string; when: 'before' | 'after' }
  | { type: 'checkpoint'; time: string; step: number; seconds: number }
  | { type: 'decision'; time: string; rho: number; pause: boolean; reason: string };

export const RUN_LOG = 'timeline.jsonl';

export class RunLog {
  private failed = false;

  constructor(
    private readonly folder: string,
    private readonly onError: (message: string) => void,
  ) {}

  append(record: RunLogRecord): void {
    if (this.failed) return;
    const file = join(this.folder, RUN_LOG);
    try {
      mkdirSync(this.folder, { recursive: true });
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.failed = true;
      this.onError(
        `cannot append to ${file}: ${(error as NodeJS.ErrnoException).code ?? error}; the run log stops here`,
      );
    }
  }
}

/** A run folder's log; a line that is not a record names the file and line. */
export function readRunLog(folder: string): RunLogRecord[] {
  const file = join(folder, RUN_LOG);
  let text: string;
  try {
    text = readTextFile(file, 'state');
  } catch (error) {
    throw new Error(`${(error as Error).message}: is it a run folder the daemon wrote?`);
  }
  const lines = text.split('\n');
  // A daemon killed mid-append leaves at most its last line short: skip that one only.
  return lines.flatMap((line, k) => {
    if (line.trim() === '') return [];
    try {
      const r = parseJsonText(line, 'the line') as RunLogRecord;
      if (typeof r.type !== 'string' || typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time)))
        throw new Error('expected {type, time, …}');
      return [r];
    } catch (error) {
      if (k === lines.length - 1) return [];
      throw new Error(`${file}:${k + 1}: not a run-log record (${(error as Error).message})`);
    }
  });
}
