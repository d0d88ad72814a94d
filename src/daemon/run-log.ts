/**
 * The daemon's record of a run, `timeline.jsonl` in the run folder: one JSON line per trainer
 * start, evaluation, step, re-selection and decision, with the wall time the daemon saw it, and the carbon
 * replay's origin when the provider is a trace. `policy simulate --from-run` reads it to measure
 * the machine and to compare its prediction with what happened. Appending never throws: a full
 * disk costs the log, not the daemon (the failure is reported once through `onError`).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText, readTextFile } from '../config/text-file.js';
import { makeDirectory } from '../io/make-directory.js';
import type { RunEvent } from '../train/run-events.js';

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
      /** The step's own time as the trainer measured it (s): the gap between records adds the pipe and the daemon. */
      seconds?: number;
      /** The step's training loss, and the job's CO2e emitted and avoided so far (grams). */
      loss?: number;
      emitted_g?: number;
      avoided_g?: number;
    }
  | {
      type: 'selection';
      time: string;
      step: number;
      rho: number;
      ratio: number;
      seconds: number;
      /** Fraction of each layer's tensors the selection trains. */
      layers?: Record<string, number>;
    }
  /** The carbon intensity in force changed (gCO2eq/kWh). */
  | { type: 'intensity'; time: string; intensity: number }
  | { type: 'evaluation'; time: string; when: 'before' | 'after' }
  | { type: 'done'; time: string; step: number }
  | { type: 'checkpoint'; time: string; step: number; seconds: number }
  | { type: 'decision'; time: string; rho: number; pause: boolean; reason: string };

export const RUN_LOG = 'timeline.jsonl';

export class RunLog {
  private failed = false;
  /** The folder exists (made at the first append, not on every step's). */
  private made = false;

  constructor(
    private readonly folder: string,
    private readonly onError: (message: string) => void,
  ) {}

  append(record: RunLogRecord): void {
    if (this.failed) return;
    const file = join(this.folder, RUN_LOG);
    try {
      if (!this.made) makeDirectory(this.folder);
      this.made = true;
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.failed = true;
      this.onError(
        `cannot append to ${file}: ${(error as NodeJS.ErrnoException).code ?? error}; the run log stops here`,
      );
    }
  }
}

/** What the log records of a trainer event beside the event itself. */
export interface EventContext {
  readonly selectionIntervalSteps: number;
  readonly checkpointIntervalSteps: number;
  /** The step's energy (J), and the job's CO2e totals after it (g), where they are measured. */
  readonly joules?: number;
  readonly emittedG?: number;
  readonly avoidedG?: number;
}

/** The record of a trainer event, or undefined for the events the log does not keep. */
export function eventRecord(e: RunEvent, time: string, c: EventContext): RunLogRecord | undefined {
  switch (e.type) {
    case 'start':
      return {
        type: 'start',
        time,
        step: e.step,
        total_steps: e.totalSteps,
        rho_floor: e.rhoFloor,
        interval_steps: c.selectionIntervalSteps,
        checkpoint_steps: c.checkpointIntervalSteps,
      };
    case 'evaluation':
      return { type: 'evaluation', time, when: e.when };
    case 'checkpoint':
      return { type: 'checkpoint', time, step: e.step, seconds: e.seconds };
    case 'selection':
      return {
        type: 'selection',
        time,
        step: e.step,
        rho: e.rho,
        ratio: e.flopsRatio,
        seconds: e.ms / 1000,
        layers: e.layers,
      };
    case 'step':
      return {
        type: 'step',
        time,
        step: e.step,
        rho: e.rho,
        flops: e.flops,
        full_flops: e.fullFlops,
        joules: c.joules ?? 0,
        seconds: e.seconds,
        loss: e.loss,
        ...(c.emittedG !== undefined ? { emitted_g: c.emittedG } : {}),
        ...(c.avoidedG !== undefined ? { avoided_g: c.avoidedG } : {}),
      };
    case 'done':
      return { type: 'done', time, step: e.report.steps };
    default:
      return undefined;
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
