/**
 * A model's weights as tfjs variables keyed by their Hugging Face checkpoint names.
 *
 * Linear weights are kept in compute layout [in, out], so every product is a plain 2-D matMul
 * (wasm runs transposed products 10–30× slower); `nn.Linear` checkpoints store [out, in] and are
 * transposed once at load and back at save.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorSpec } from '../greentrainer/graph.js';

let instances = 0;

/** The shape a tensor has in memory: [in, out] for every linear weight. */
export function computeShape(t: TensorSpec): number[] {
  return t.layout === 'out_in' ? [...t.shape].reverse() : [...t.shape];
}

/** A LoRA adapter of one weight: W' = W + A·B·scale, A [in, r], B [r, out] (compute layout). */
export interface Adapter {
  readonly a: tf.Variable;
  readonly b: tf.Variable;
  readonly scale: number;
}

export class Parameters {
  private readonly adapters = new Map<string, Adapter & { names: [string, string] }>();

  private constructor(
    readonly specs: readonly TensorSpec[],
    private readonly vars: Map<string, tf.Variable>,
  ) {}

  /**
   * Adds LoRA adapters to the given [in, out] weights: A ~ N(0, 1/r) (seeded), B = 0, so the
   * model is unchanged until B trains; scale α/r. Their variables are `<weight>.lora_A` and
   * `.lora_B`, reachable through `get`.
   */
  addLora(weights: readonly string[], rank: number, alpha: number, seed = 0): string[] {
    const names: string[] = [];
    weights.forEach((weight, i) => {
      const [inF, outF] = this.get(weight).shape as [number, number];
      const a = tf.tidy(() =>
        tf.variable(
          tf.randomNormal([inF, rank], 0, 1 / rank, 'float32', seed * 7919 + i),
          true,
          `lora/${weight}/A`,
        ),
      );
      const b = tf.tidy(() => tf.variable(tf.zeros([rank, outF]), true, `lora/${weight}/B`));
      const pair: [string, string] = [`${weight}.lora_A`, `${weight}.lora_B`];
      this.vars.set(pair[0], a);
      this.vars.set(pair[1], b);
      this.adapters.set(weight, { a, b, scale: alpha / rank, names: pair });
      names.push(...pair);
    });
    return names;
  }

  /** Adds a trainable tensor that is not part of the checkpoint (prefix-tuning vectors). */
  addTrainable(name: string, init: () => tf.Tensor): void {
    if (this.vars.has(name)) throw new Error(`parameter ${name} exists`);
    this.vars.set(
      name,
      tf.tidy(() => tf.variable(init(), true, `extra/${name}`)),
    );
  }

  adapter(weight: string): Adapter | undefined {
    return this.adapters.get(weight);
  }

  /** Folds every adapter into its weight (W += A·B·scale) and removes the adapters. */
  mergeLora(): void {
    for (const [weight, a] of this.adapters) {
      const w = this.get(weight);
      tf.tidy(() => w.assign(tf.add(w, tf.mul(tf.matMul(a.a, a.b), a.scale))));
      for (const n of a.names) this.vars.delete(n);
      tf.dispose([a.a, a.b]);
    }
    this.adapters.clear();
  }

  /** Random initialisation as Hugging Face does for these families: N(0, 0.02), zero biases, unit norms. */
  static random(specs: readonly TensorSpec[], seed = 0): Parameters {
    return Parameters.create(specs, (t, i) => {
      const shape = computeShape(t);
      if (t.kind === 'norm.weight') return tf.ones(shape);
      if (t.kind.endsWith('.bias')) return tf.zeros(shape);
      return tf.randomNormal(shape, 0, 0.02, 'float32', seed * 100_003 + i);
    });
  }

  /** Builds variables from checkpoint values (checkpoint layout), all of which must be present. */
  static fromCheckpoint(specs: readonly TensorSpec[], values: ReadonlyMap<string, Float32Array>): Parameters {
    return Parameters.create(specs, (t) => {
      const data = values.get(t.name);
      if (!data) throw new Error(`no value for ${t.name}`);
      const x = tf.tensor(data, [...t.shape], 'float32');
      if (t.layout !== 'out_in') return x;
      const y = tf.transpose(x);
      x.dispose();
      return y;
    });
  }

  private static create(
    specs: readonly TensorSpec[],
    init: (t: TensorSpec, i: number) => tf.Tensor,
  ): Parameters {
    const id = ++instances;
    const vars = new Map<string, tf.Variable>();
    try {
      specs.forEach((t, i) => {
        const value = init(t, i);
        vars.set(t.name, tf.variable(value, true, `m${id}/${t.name}`));
        value.dispose();
      });
    } catch (error) {
      for (const v of vars.values()) v.dispose();
      throw error;
    }
    return new Parameters(specs, vars);
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v;
  }

  /** All variables, in backpropagation order. */
  list(): tf.Variable[] {
    return this.specs.map((t) => this.get(t.name));
  }

  names(): string[] {
    return this.specs.map((t) => t.name);
  }

  /** Values in checkpoint layout, one tensor at a time (call outside tf.tidy). */
  *checkpointValues(): Generator<{ name: string; shape: readonly number[]; data: Float32Array }> {
    for (const t of this.specs) {
      const v = this.get(t.name);
      const x = t.layout === 'out_in' ? tf.transpose(v) : v;
      const data = x.dataSync() as Float32Array;
      if (x !== v) x.dispose();
      yield { name: t.name, shape: t.shape, data };
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
