/**
 * Learning-rate schedules, pure functions of the step (nanoGPT's `get_lr`): linear decay to zero
 * after an optional linear warm-up, as Hugging Face's `get_linear_schedule_with_warmup` (the
 * paper's setup).
 */
export interface LinearSchedule {
  /** Peak learning rate. */
  readonly lr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
}

/** Learning rate of optimizer step `step` (0-based). */
export function linearLr(s: LinearSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  return s.lr * Math.max(0, (s.totalSteps - step) / Math.max(1, s.totalSteps - s.warmupSteps));
}
