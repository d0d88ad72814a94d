/**
 * AdamW (Loshchilov & Hutter) with PyTorch's semantics, keyed by tensor name: tfjs's own Adam keys
 * its moments by position in the variable list, which mixes tensors up as soon as the trainable
 * set changes (../shared/research/tfjs-feasibility.md §4.2).
 *
 * One step for a tensor w with gradient g, learning rate lr, at its own step count t:
 *   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
 *   Δw = −lr·λ·w − lr·(m / (1−β1^t)) / (√v / √(1−β2^t) + ε)
 * `delta` computes the Δw the next step would apply without changing anything, so GreenTrainer's
 * importance (Δw·∂L/∂w) needs no probing step. A tensor without state yet (t = 0) gets exactly
 * what its first step will apply: m̂ = g, v̂ = g², so Δw = −lr·λ·w − lr·g / (|g| + ε).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay λ (the paper: 0.01). */
  readonly weightDecay?: number;
}

interface Slot {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
  step: number;
}

export class AdamW {
  private readonly slots = new Map<string, Slot>();
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(o: AdamWOptions = {}) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.01;
  }

  /**
   * The update the next step would apply to `w` for gradient `g`; changes nothing. With `fresh`,
   * the update a tensor without state would get (its first step), whatever state it has.
   */
  delta(name: string, w: tf.Tensor, g: tf.Tensor, lr: number, fresh = false): tf.Tensor {
    return tf.tidy(() => this.next(name, w, g, lr, fresh).delta);
  }

  /** Applies one step to every (name, variable, gradient), each in its own tidy scope. */
  step(
    updates: ReadonlyArray<{ name: string; variable: tf.Variable; gradient: tf.Tensor }>,
    lr: number,
  ): void {
    for (const { name, variable, gradient } of updates) {
      const slot = this.slot(name, variable);
      tf.tidy(() => {
        const { m, v, delta } = this.next(name, variable, gradient, lr);
        slot.m.assign(m);
        slot.v.assign(v);
        variable.assign(tf.add(variable, delta));
      });
      slot.step++;
    }
  }

  /** Drops the state of every tensor not in `names`: a tensor selected again starts afresh. */
  retain(names: ReadonlySet<string>): void {
    for (const [name, slot] of this.slots) {
      if (names.has(name)) continue;
      slot.m.dispose();
      slot.v.dispose();
      this.slots.delete(name);
    }
  }

  /** Steps taken by a tensor (0 when it has no state). */
  steps(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  /** The moments of a tensor, for checkpoints and tests. */
  moments(name: string): { m: tf.Tensor; v: tf.Tensor } | undefined {
    const s = this.slots.get(name);
    return s ? { m: s.m, v: s.v } : undefined;
  }

  /** Every tensor with state, in insertion order: what a checkpoint saves. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  /** Restores one tensor's state from a checkpoint (replacing any it has); takes ownership of m and v. */
  load(name: string, m: tf.Tensor, v: tf.Tensor, step: number): void {
    const old = this.slots.get(name);
    if (old) tf.dispose([old.m, old.v]);
    this.slots.set(name, { m: tf.variable(m, false), v: tf.variable(v, false), step });
    tf.dispose([m, v]);
  }

  dispose(): void {
    this.retain(new Set());
  }

  private slot(name: string, w: tf.Tensor): Slot {
    let s = this.slots.get(name);
    if (!s) {
      // Inside tidy: the zeros a variable is made from would otherwise outlive it.
      s = tf.tidy(() => ({
        m: tf.variable(tf.zerosLike(w), false),
        v: tf.variable(tf.zerosLike(w), false),
        step: 0,
      }));
      this.slots.set(name, s);
    }
    return s;
  }

  /** New moments and Δw for the next step (inside the caller's tidy). */
  private next(name: string, w: tf.Tensor, g: tf.Tensor, lr: number, fresh = false) {
    const s = fresh ? undefined : this.slots.get(name);
    const t = (s?.step ?? 0) + 1;
    const m = s ? tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1)) : tf.mul(g, 1 - this.beta1);
    const v = s
      ? tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))
      : tf.mul(tf.square(g), 1 - this.beta2);
    const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - this.beta2 ** t)), this.eps);
    const adam = tf.div(tf.mul(m, lr / (1 - this.beta1 ** t)), denominator);
    const delta = tf.neg(tf.add(tf.mul(w, lr * this.weightDecay), adam));
    return { m, v, delta };
  }
}
