/**
 * The GreenTrainer loop core: at the first step, every `intervalSteps` steps, and at the first step
 * boundary after `setRho`, it scores the tensors above the early-stop depth (Eq. 12), selects the
 * ones to train with the exact DP under ρ, and from then on computes gradients of those alone (the
 * tape prunes everything below the deepest one) and steps AdamW on them. Tensors that leave the
 * selection drop their AdamW state; tensors that stay keep theirs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FlopsProfile } from '../greentrainer/flops.js';
import { backwardBudget, earlyStopDepth, toRhoBp } from '../greentrainer/rho.js';
import { maskFlops } from '../greentrainer/schemes.js';
import { selectTensors } from '../greentrainer/selector.js';
import type { Parameters } from '../models/parameters.js';
import type { AdamW } from './adamw.js';
import { tensorImportance } from './importance.js';

export interface TrainerOptions {
  readonly rho: number;
  /** Re-select every this many steps. */
  readonly intervalSteps: number;
  /** Learning rate of a step (0-based), e.g. a `linearLr` schedule. */
  readonly lr: (step: number) => number;
  /** Selector FLOPs resolution T_q. */
  readonly resolution?: number;
}

export interface SelectionEvent {
  readonly step: number;
  readonly rho: number;
  readonly rhoBp: number;
  readonly tensors: number;
  /** Deepest selected tensor, in backpropagation order. */
  readonly depth: number;
  /** Modeled FLOPs of a step under the selection ÷ full fine-tuning. */
  readonly flopsRatio: number;
  readonly ms: number;
}

export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly rho: number;
  /** Modeled FLOPs of this step, and of full fine-tuning. */
  readonly flops: number;
  readonly fullFlops: number;
  readonly selection?: SelectionEvent;
}

export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}

/** A loss over one batch, built by the caller from its model and data. */
export type BatchLoss = () => tf.Scalar;

export class Trainer {
  private stepCount = 0;
  private rho: number;
  private pendingRho: number | undefined;
  private selected: string[] = [];
  private stepFlops = 0;

  constructor(
    private readonly params: Parameters,
    private readonly optimizer: AdamW,
    private readonly profile: FlopsProfile,
    private readonly o: TrainerOptions,
  ) {
    backwardBudget(o.rho, profile.forward, profile.backward);
    this.rho = o.rho;
  }

  /** Asks for a new ρ; it takes effect at the next step boundary. Checked now. */
  setRho(rho: number): void {
    backwardBudget(rho, this.profile.forward, this.profile.backward);
    this.pendingRho = rho;
  }

  /** The tensors currently trained, in backpropagation order. */
  get trainable(): readonly string[] {
    return this.selected;
  }

  /** One training step on `loss`; re-selects first when due. */
  step(loss: BatchLoss): StepResult {
    let selection: SelectionEvent | undefined;
    const due =
      this.stepCount === 0 || this.stepCount % this.o.intervalSteps === 0 || this.pendingRho !== undefined;
    if (due) {
      if (this.pendingRho !== undefined) this.rho = this.pendingRho;
      this.pendingRho = undefined;
      selection = this.select(loss);
    }
    const vars = this.selected.map((n) => this.params.get(n));
    const { value, grads } = tf.variableGrads(loss, vars);
    const lossValue = value.dataSync()[0]!;
    this.optimizer.step(
      this.selected.map((name, k) => ({ name, variable: vars[k]!, gradient: grads[vars[k]!.name]! })),
      this.o.lr(this.stepCount),
    );
    tf.dispose([value, ...Object.values(grads)]);
    const result = {
      step: this.stepCount,
      loss: lossValue,
      rho: this.rho,
      flops: this.stepFlops,
      fullFlops: this.profile.full,
      ...(selection ? { selection } : {}),
    };
    this.stepCount++;
    return result;
  }

  private select(loss: BatchLoss): SelectionEvent {
    const t0 = performance.now();
    const { forward, backward, tensors } = this.profile;
    const budget = backwardBudget(this.rho, forward, backward);
    const depth = earlyStopDepth(
      tensors.map((t) => t.tDy),
      budget,
    );
    const candidates = tensors.slice(0, depth);
    const scores = tensorImportance({
      tensors: new Map(candidates.map((t) => [t.name, this.params.get(t.name)])),
      losses: [loss],
      optimizer: this.optimizer,
      lr: this.o.lr(this.stepCount),
    });
    const s = selectTensors({
      tDy: tensors.map((t) => t.tDy),
      tDw: tensors.map((t) => t.tDw),
      importance: tensors.map((t) => scores.get(t.name) ?? 0),
      budget,
      ...(this.o.resolution ? { resolution: this.o.resolution } : {}),
    });
    if (s.status !== 'selected') {
      throw new TrainingError(
        `at ρ = ${this.rho} the selection is empty (${s.status}): no tensor can be trained within the budget`,
      );
    }
    this.selected = tensors.filter((_, k) => s.mask[k]).map((t) => t.name);
    this.optimizer.retain(new Set(this.selected));
    this.stepFlops = maskFlops(this.profile, s.mask).flops;
    return {
      step: this.stepCount,
      rho: this.rho,
      rhoBp: toRhoBp(this.rho, forward, backward),
      tensors: this.selected.length,
      depth: s.deepest,
      flopsRatio: this.stepFlops / this.profile.full,
      ms: performance.now() - t0,
    };
  }
}
