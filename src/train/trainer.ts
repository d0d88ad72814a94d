/**
 * The GreenTrainer loop core: at the first step and every `intervalSteps` steps it scores the
 * tensors above the early-stop depth (Eq. 12) and selects the ones to train with the exact DP
 * under ρ; at the first step boundary after `setRho` it selects again under the new ρ, on the
 * interval's scores when they reach the new depth (else it scores afresh). From then on it
 * computes gradients of the selected tensors alone (the tape prunes everything below the deepest
 * one) and steps AdamW on them. Tensors that leave the selection drop their AdamW state (or, with
 * `moments: 'keep'`, keep it frozen until selected again); tensors that stay keep theirs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RhoError } from '../greentrainer/errors.js';
import type { FlopsProfile } from '../greentrainer/flops.js';
import type { ModelSpec } from '../greentrainer/graph.js';
import { backwardBudget, earlyStopDepth, toRhoBp, trainableFloor } from '../greentrainer/rho.js';
import { frozenBlocks, maskFlops, top2Mask } from '../greentrainer/schemes.js';
import { selectTensors } from '../greentrainer/selector.js';
import type { LossPass } from '../models/loss.js';
import type { Parameters } from '../models/parameters.js';
import type { AdamW } from './adamw.js';
import { type ImportanceMetric, type ImportanceMoments, tensorImportance } from './importance.js';

/**
 * How tensors are chosen: GreenTrainer's importance-driven selection under ρ, or one of the
 * paper's fixed baselines (every tensor; the output embedding and the last layer).
 */
export type SelectionMethod = 'greentrainer' | 'full' | 'top2' | 'lora' | 'prefix';

export interface TrainerOptions {
  readonly method?: SelectionMethod;
  readonly rho: number;
  /** Re-select every this many steps. */
  readonly intervalSteps: number;
  /** Learning rate of a step (0-based), e.g. a `linearLr` schedule. */
  readonly lr: (step: number) => number;
  /** Selector FLOPs resolution T_q. */
  readonly resolution?: number;
  /** LoRA or prefix tuning: the extra variables to train and the modeled FLOPs of a step. */
  readonly fixed?: { readonly names: readonly string[]; readonly flops: number };
  /** Importance metric (default the paper's Δw·∂L/∂w). */
  readonly importance?: ImportanceMetric;
  /**
   * AdamW state importance sees (default `current`); with `keep`, tensors leaving the selection
   * keep their moments and step count (frozen) instead of dropping them.
   */
  readonly moments?: ImportanceMoments;
  /** Clip the global L2 norm of the gradients of the trained tensors to this (off when absent). */
  readonly maxGradNorm?: number;
  /** Told when a step's re-selection begins ('select') and when its training begins after it ('train'). */
  readonly onPhase?: (phase: 'select' | 'train') => void;
}

/** What a checkpoint needs to continue a trainer exactly. */
export interface TrainerState {
  readonly step: number;
  readonly rho: number;
  readonly pendingRho?: number;
  readonly selected: readonly string[];
  /** The importance scores of the last interval's selection, reused at ρ changes until the next one. */
  readonly importance?: { readonly scored: number; readonly scores: Readonly<Record<string, number>> };
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
  /** Tensors scored by importance (the first `scored` in backpropagation order; 0: no importance pass). */
  readonly scored: number;
  readonly ms: number;
  /** The tensors selected, in backpropagation order. */
  readonly selected: readonly string[];
}

export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly rho: number;
  /** Modeled FLOPs of this step, and of full fine-tuning. */
  readonly flops: number;
  readonly fullFlops: number;
  /** Global gradient norm before clipping (computed only when clipping is on). */
  readonly gradNorm?: number;
  readonly selection?: SelectionEvent;
}

export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}

/**
 * A loss over one batch, built by the caller from its model and data. The trainer tells it which
 * blocks hold no tensor it differentiates, to run outside the gradient tape; a loss may ignore that.
 */
export type BatchLoss = (pass?: LossPass) => tf.Scalar;

export class Trainer {
  private stepCount = 0;
  private rho: number;
  private pendingRho: number | undefined;
  private selected: string[] = [];
  /**
   * Importance of the top `scored` tensors (backpropagation order), as the last scoring pass found
   * it. A selection due only to a ρ change reuses it when it covers the new early-stop depth: ρ
   * changes the budget, not what the tensors are worth, and a pass costs up to a full step.
   */
  private importance: { scored: number; scores: Map<string, number> } | undefined;
  private stepFlops = 0;
  /** Decoder blocks below the deepest selected tensor: their forward runs outside the tape. */
  private frozenLayers = 0;

  private readonly method: SelectionMethod;

  constructor(
    private readonly spec: ModelSpec,
    private readonly params: Parameters,
    private readonly optimizer: AdamW,
    private readonly profile: FlopsProfile,
    private readonly o: TrainerOptions,
  ) {
    this.method = o.method ?? 'greentrainer';
    this.floor = trainableFloor(
      profile.tensors.map((t) => t.tDy),
      profile.tensors.map((t) => t.tDw),
      profile.forward,
      profile.backward,
    );
    this.check(o.rho);
    this.rho = o.rho;
  }

  /** The smallest ρ at which some tensor can be trained (the cheapest tensor's step ÷ full). */
  readonly floor: number;

  private check(rho: number): void {
    if (this.method !== 'greentrainer') return;
    backwardBudget(rho, this.profile.forward, this.profile.backward);
    if (rho < this.floor) {
      throw new RhoError(
        `ρ = ${rho} is below this model's trainable floor ${this.floor.toFixed(4)}: even its cheapest tensor ` +
          `costs more; raise ρ (or rho_min) to at least ${Math.ceil(this.floor * 1000) / 1000}`,
      );
    }
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** ρ of the current selection (a pending change applies at the next step). */
  get currentRho(): number {
    return this.rho;
  }

  /** Learning rate of step `step` (0-based). */
  lrAt(step: number): number {
    return this.o.lr(step);
  }

  /** The state a checkpoint saves; AdamW's moments are saved beside it. */
  state(): TrainerState {
    return {
      step: this.stepCount,
      rho: this.rho,
      ...(this.pendingRho !== undefined ? { pendingRho: this.pendingRho } : {}),
      selected: [...this.selected],
      ...(this.importance
        ? {
            importance: {
              scored: this.importance.scored,
              scores: Object.fromEntries(this.importance.scores),
            },
          }
        : {}),
    };
  }

  /** Continues from a checkpoint's state (the optimizer's moments are restored by the caller). */
  restore(s: TrainerState): void {
    const known = new Set([...this.profile.tensors.map((t) => t.name), ...(this.o.fixed?.names ?? [])]);
    const unknown = s.selected.filter((n) => !known.has(n));
    if (unknown.length > 0)
      throw new TrainingError(`checkpoint selects unknown tensors: ${unknown.join(', ')}`);
    const chosen = new Set(s.selected);
    if (this.o.fixed) {
      this.selected = [...this.o.fixed.names];
      this.stepFlops = this.o.fixed.flops;
      this.stepCount = s.step;
      this.rho = s.rho;
      return;
    }
    this.selected = this.profile.tensors.filter((t) => chosen.has(t.name)).map((t) => t.name);
    this.frozenLayers = frozenBlocks(this.spec, this.selected);
    this.stepFlops = maskFlops(
      this.profile,
      this.profile.tensors.map((t) => (chosen.has(t.name) ? 1 : 0)),
    ).flops;
    this.stepCount = s.step;
    this.rho = s.rho;
    this.pendingRho = s.pendingRho;
    this.importance = s.importance
      ? { scored: s.importance.scored, scores: new Map(Object.entries(s.importance.scores)) }
      : undefined;
  }

  /** Asks for a new ρ; it takes effect at the next step boundary. Checked now. */
  setRho(rho: number): void {
    if (this.method !== 'greentrainer') return;
    this.check(rho);
    if (rho !== this.rho || this.pendingRho !== undefined) this.pendingRho = rho;
  }

  /** The tensors currently trained, in backpropagation order. */
  get trainable(): readonly string[] {
    return this.selected;
  }

  /**
   * One optimizer step over one or more micro-batches (gradient accumulation: their gradients
   * are averaged); re-selects first when due, scoring importance on `importance` (default: the
   * step's own micro-batches; a thunk, so batches are built only when a selection is due).
   */
  step(micro: BatchLoss | readonly BatchLoss[], importance?: () => readonly BatchLoss[]): StepResult {
    const losses = typeof micro === 'function' ? [micro] : micro;
    if (losses.length === 0) throw new TrainingError('a step needs at least one batch');
    let selection: SelectionEvent | undefined;
    if (this.selectionDue()) {
      if (this.pendingRho !== undefined) this.rho = this.pendingRho;
      this.pendingRho = undefined;
      this.o.onPhase?.('select');
      selection = this.select(importance ? importance() : losses);
      this.o.onPhase?.('train');
    }
    const vars = this.selected.map((n) => this.params.get(n));
    const { loss, grads } = this.gradients(losses, vars);
    const gradNorm =
      this.o.maxGradNorm !== undefined ? clipByGlobalNorm(grads, this.o.maxGradNorm) : undefined;
    this.optimizer.step(
      this.selected.map((name, k) => ({ name, variable: vars[k]!, gradient: grads[k]! })),
      this.o.lr(this.stepCount),
    );
    tf.dispose(grads);
    const result = {
      step: this.stepCount,
      loss,
      rho: this.rho,
      flops: this.stepFlops * losses.length,
      fullFlops: this.profile.full * losses.length,
      ...(gradNorm !== undefined ? { gradNorm } : {}),
      ...(selection ? { selection } : {}),
    };
    this.stepCount++;
    return result;
  }

  private selectionDue(): boolean {
    if (this.stepCount === 0 && this.selected.length === 0) return true;
    if (this.method !== 'greentrainer') return this.selected.length === 0;
    return this.stepCount % this.o.intervalSteps === 0 || this.pendingRho !== undefined;
  }

  /** Mean loss and mean gradients (one per variable) over the micro-batches. */
  private gradients(losses: readonly BatchLoss[], vars: tf.Variable[]): { loss: number; grads: tf.Tensor[] } {
    let sum = 0;
    let acc: tf.Tensor[] = [];
    for (const l of losses) {
      const { value, grads } = tf.variableGrads(() => l({ frozenLayers: this.frozenLayers }), vars);
      sum += value.dataSync()[0]!;
      const g = vars.map((v, k) => {
        const grad = grads[v.name];
        if (!grad)
          throw new TrainingError(`no gradient reaches ${this.selected[k]}: is it inside a frozen block?`);
        return grad;
      });
      if (acc.length === 0) acc = g;
      else {
        const next = acc.map((a, k) => tf.add(a, g[k]!));
        tf.dispose([...acc, ...g]);
        acc = next;
      }
      value.dispose();
    }
    if (losses.length > 1) {
      const mean = acc.map((a) => tf.div(a, losses.length));
      tf.dispose(acc);
      acc = mean;
    }
    return { loss: sum / losses.length, grads: acc };
  }

  private select(losses: readonly BatchLoss[]): SelectionEvent {
    const t0 = performance.now();
    const { forward, backward, tensors } = this.profile;
    if (this.o.fixed) {
      this.selected = [...this.o.fixed.names];
      this.stepFlops = this.o.fixed.flops;
      return {
        step: this.stepCount,
        rho: this.rho,
        rhoBp: toRhoBp(this.rho, forward, backward),
        tensors: this.selected.length,
        depth: -1,
        flopsRatio: this.stepFlops / this.profile.full,
        scored: 0,
        ms: performance.now() - t0,
        selected: [...this.selected],
      };
    }
    const { mask, scored } =
      this.method === 'greentrainer' ? this.selectMask(losses) : { mask: this.fixedMask(), scored: 0 };
    this.selected = tensors.filter((_, k) => mask[k]).map((t) => t.name);
    this.frozenLayers = frozenBlocks(this.spec, this.selected);
    if (this.o.moments !== 'keep') this.optimizer.retain(new Set(this.selected));
    this.stepFlops = maskFlops(this.profile, mask).flops;
    let deepest = -1;
    mask.forEach((m, k) => {
      if (m) deepest = k;
    });
    return {
      step: this.stepCount,
      rho: this.rho,
      rhoBp: toRhoBp(this.rho, forward, backward),
      tensors: this.selected.length,
      depth: deepest,
      flopsRatio: this.stepFlops / this.profile.full,
      scored,
      ms: performance.now() - t0,
      selected: [...this.selected],
    };
  }

  private fixedMask(): Uint8Array {
    return this.method === 'full'
      ? new Uint8Array(this.profile.tensors.length).fill(1)
      : top2Mask(this.spec, this.profile);
  }

  /** The mask under ρ, and how many tensors (from the top) importance scored to find it. */
  private selectMask(losses: readonly BatchLoss[]): { mask: Uint8Array; scored: number } {
    const { forward, backward, tensors } = this.profile;
    const budget = backwardBudget(this.rho, forward, backward);
    const depth = earlyStopDepth(
      tensors.map((t) => t.tDy),
      budget,
    );
    const reuse =
      this.stepCount % this.o.intervalSteps !== 0 &&
      this.importance !== undefined &&
      this.importance.scored >= depth;
    const scores = reuse ? this.importance!.scores : this.score(losses, depth);
    const s = selectTensors({
      tDy: tensors.map((t) => t.tDy),
      tDw: tensors.map((t) => t.tDw),
      // Tensors below the early-stop depth cannot fit the budget: their scores do not matter.
      importance: tensors.map((t, k) => (k < depth ? (scores.get(t.name) ?? 0) : 0)),
      budget,
      ...(this.o.resolution ? { resolution: this.o.resolution } : {}),
    });
    if (s.status !== 'selected') {
      throw new TrainingError(
        `at ρ = ${this.rho} the selection is empty (${s.status}): no tensor can be trained within the budget`,
      );
    }
    return { mask: Uint8Array.from(s.mask), scored: reuse ? 0 : depth };
  }

  /** Importance of the top `depth` tensors on `losses` (one pass per batch); kept for reuse. */
  private score(losses: readonly BatchLoss[], depth: number): Map<string, number> {
    const candidates = this.profile.tensors.slice(0, depth);
    const frozenLayers = frozenBlocks(
      this.spec,
      candidates.map((t) => t.name),
    );
    const scores = tensorImportance({
      tensors: new Map(candidates.map((t) => [t.name, this.params.get(t.name)])),
      losses: losses.map((l) => () => l({ frozenLayers })),
      ...(this.o.importance ? { metric: this.o.importance } : {}),
      ...(this.o.moments ? { moments: this.o.moments } : {}),
      optimizer: this.optimizer,
      // Importance is normalised by max |I| and every Δw is proportional to lr, so any positive
      // lr ranks the same; during warm-up the schedule gives 0 at step 0, which would rank nothing.
      lr: this.o.lr(this.stepCount) || 1,
    });
    this.importance = { scored: depth, scores };
    return scores;
  }
}

/** Scales `grads` in place so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): number {
  const total = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))));
  const norm = total.dataSync()[0]!;
  total.dispose();
  if (norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    grads.forEach((g, k) => {
      grads[k] = tf.mul(g, scale);
      g.dispose();
    });
  }
  return norm;
}
