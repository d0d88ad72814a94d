/**
 * What a training run reports as it goes: plain data, so the CLI can draw a progress bar and the
 * daemon can forward it over IPC to metrics and logs. `train/` knows nothing of either.
 */
import type { SelectionEvent } from './trainer.js';

/**
 * What the trainer process is doing, reported as it begins: loading the model, training steps,
 * re-selecting (importance passes and the DP), evaluating, writing a checkpoint or the final
 * model, or idle while paused. The daemon charges the energy drawn to the phase in force.
 */
export type Phase = 'load' | 'train' | 'select' | 'eval' | 'checkpoint' | 'idle';

export const PHASES: readonly Phase[] = ['load', 'train', 'select', 'eval', 'checkpoint', 'idle'];

export interface PhaseEvent {
  readonly type: 'phase';
  readonly phase: Phase;
}

export interface StartEvent {
  readonly type: 'start';
  readonly job: string;
  readonly backend: string;
  readonly step: number;
  readonly totalSteps: number;
  /** The job's modeled FLOPs and full-FT FLOPs over its first `step` steps (restored from the checkpoint). */
  readonly flops: number;
  readonly fullFlops: number;
  /** Modeled FLOPs of the re-selections' importance passes over those steps. */
  readonly selectionFlops: number;
  readonly resumedFrom?: string;
  readonly tensors: number;
  /** The smallest ρ this job can train at (GreenTrainer; 1 for fixed baselines). */
  readonly rhoFloor: number;
  readonly examples: { readonly train: number; readonly validation: number; readonly test: number };
}

export interface StepEvent {
  readonly type: 'step';
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly rho: number;
  readonly lr: number;
  /** Modeled FLOPs of this step under the selection, and of full fine-tuning, at its real shape. */
  readonly flops: number;
  readonly fullFlops: number;
  /** FLOPs the backend executed in this step, when it was audited (the step after a selection). */
  readonly executedFlops?: number;
  readonly seconds: number;
  readonly tokens: number;
}

export interface SelectionReport extends SelectionEvent {
  readonly type: 'selection';
  /** Fraction of each layer's tensors selected (heatmap). */
  readonly layers: Readonly<Record<string, number>>;
  /** Modeled FLOPs of its importance passes (forward and backward over the scored tensors, per batch). */
  readonly flops: number;
}

export interface CheckpointEvent {
  readonly type: 'checkpoint';
  readonly step: number;
  readonly path: string;
  readonly seconds: number;
  readonly reason: 'interval' | 'request' | 'stop' | 'end';
}

export interface EvaluationReport {
  readonly split: 'validation' | 'test';
  readonly examples: number;
  readonly loss?: number;
  readonly perplexity?: number;
  readonly rouge?: {
    readonly rouge1: number;
    readonly rouge2: number;
    readonly rougeL: number;
    readonly rougeLsum: number;
  };
  /** Question answering: SQuAD-style exact match and F1 (%), best over each question's answers. */
  readonly qa?: { readonly exact_match: number; readonly f1: number };
  /** Multiple choice: % of examples whose likelier candidate is the right one. */
  readonly accuracy?: number;
  /**
   * Test only, when asked for (`RunOptions.perExample`): each metric's value per test example, in
   * percent, in test order (what paired comparisons between runs need).
   */
  readonly per_example?: Readonly<Record<string, readonly number[]>>;
  readonly seconds: number;
}

export interface EvaluationEvent {
  readonly type: 'evaluation';
  readonly when: 'before' | 'after';
  readonly reports: readonly EvaluationReport[];
}

export interface RunReport {
  readonly job: string;
  readonly method: string;
  readonly backend: string;
  readonly steps: number;
  readonly status: 'finished' | 'stopped';
  /**
   * Modeled FLOPs of the training steps, of the re-selections' importance passes, and of full
   * fine-tuning of the same steps; saved_ratio = (full − training − selection) ÷ full.
   */
  readonly flops: {
    readonly training: number;
    readonly selection: number;
    readonly full: number;
    readonly saved_ratio: number;
  };
  readonly train_seconds: number;
  readonly final_loss: number | null;
  readonly evaluation: {
    readonly before?: readonly EvaluationReport[];
    readonly after?: readonly EvaluationReport[];
  };
  readonly model?: string;
}

export interface DoneEvent {
  readonly type: 'done';
  readonly report: RunReport;
}

export interface LogEvent {
  readonly type: 'log';
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

export type RunEvent =
  | PhaseEvent
  | StartEvent
  | StepEvent
  | SelectionReport
  | CheckpointEvent
  | EvaluationEvent
  | DoneEvent
  | LogEvent;

/** FLOPs saved against full fine-tuning of the same steps, net of re-selection: (full − trained − selection) ÷ full. */
export function savedRatio(trained: number, selection: number, full: number): number {
  return full > 0 ? (full - trained - selection) / full : 0;
}
