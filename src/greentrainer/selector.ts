/**
 * Exact tensor selection (paper §3.3, Eq. 5):
 *
 *   maximise Σ_k m_k·I_k   subject to   Σ_k m_k·t_dw[k] + Σ_{k ≤ D(m)} t_dy[k] ≤ budget
 *
 * where index 0 is the tensor nearest the loss and D(m) the deepest selected tensor.
 *
 * Algorithm, O(N·T) time and N·T bits: fix the deepest selected tensor D. It pays the prefix sum
 * P(D) = Σ_{k ≤ D} t_dy[k] and t_dw[D]; the tensors above it are then independent 0/1 knapsack
 * items of weight t_dw and value I. The knapsack table over items 0..D−1 is extended by one item
 * as D moves down, so every candidate D is answered by one table look-up. A decision bitset per
 * item recovers the mask. (The paper's recurrence is O(N²·T), and since a state only chains from
 * states whose own deepest tensor is selected at exactly that cost, it misses the optimum on some
 * inputs; bench/selector.ts measures both.)
 *
 * Only tensors with I > 0 are ever selected: a non-positive tensor adds no importance and its
 * cost is non-negative, so dropping it never hurts (as the deepest, dropping it also shortens the
 * backward chain).
 *
 * FLOPs are quantised to T_q units of the total backward FLOPs (Eq. 15), but rounded up (costs)
 * and down (budget), so a returned mask always fits the budget in the input's own units. Integer
 * inputs whose total is at most T_q are solved unscaled, hence exactly. After the quantised
 * optimum, a greedy pass adds tensors above D that still fit at full precision, which recovers
 * what rounding many tiny tensors (biases, norms) up to one unit gave away.
 */
import { type Issue, SelectionInputError } from './errors.js';

export interface SelectionProblem {
  readonly tDy: ArrayLike<number>;
  readonly tDw: ArrayLike<number>;
  readonly importance: ArrayLike<number>;
  /** Backward FLOPs the selection may spend (ρ_bp·T_bp). */
  readonly budget: number;
  /** T_q: units the total backward FLOPs are quantised to. Default 10 000. */
  readonly resolution?: number;
}

export type SelectionStatus = 'selected' | 'nothing-worth-training' | 'nothing-fits';

export interface Selection {
  readonly status: SelectionStatus;
  readonly mask: Uint8Array;
  /** Σ m·I. */
  readonly importance: number;
  /** Σ m·t_dw + Σ_{k ≤ deepest} t_dy, in the input's units. */
  readonly cost: number;
  /** Deepest selected index, −1 when nothing is selected. */
  readonly deepest: number;
  /** True when the problem was solved unscaled (the result is the exact optimum). */
  readonly exact: boolean;
}

export const DEFAULT_RESOLUTION = 10_000;

/**
 * N × T_q a problem may have: the decision bitset takes N·T_q bits, 2^30 of them 128 MiB
 * (OPT-2.7B's 516 tensors at the default T_q take 5·10⁶).
 */
export const MAX_SELECTION_CELLS = 2 ** 30;

/** Why `tensors` × `resolution` is too large to solve, or undefined when it fits. */
export function selectionSizeProblem(tensors: number, resolution: number): string | undefined {
  const cells = tensors * resolution;
  if (cells <= MAX_SELECTION_CELLS) return undefined;
  const mib = Math.ceil(cells / 8 / 2 ** 20);
  return (
    `${tensors} tensors × resolution ${resolution} = ${cells.toExponential(2)} exceeds the selector's limit ` +
    `of N × T_q ≤ 2^30 (its decision bits would take ${mib} MiB): use a resolution ≤ ${Math.floor(MAX_SELECTION_CELLS / Math.max(1, tensors))}`
  );
}

/** The paper's σ(m) cost of a mask: Σ m_k·t_dw[k] + Σ_{k ≤ deepest selected} t_dy[k]. */
export function selectionCost(
  tDy: ArrayLike<number>,
  tDw: ArrayLike<number>,
  mask: ArrayLike<number>,
): number {
  let deepest = -1;
  let cost = 0;
  for (let k = 0; k < mask.length; k++) {
    if (mask[k]) {
      deepest = k;
      cost += tDw[k]!;
    }
  }
  for (let k = 0; k <= deepest; k++) cost += tDy[k]!;
  return cost;
}

/** Checks a selection problem and returns its issues as data (empty when valid). */
export function validateProblem(p: SelectionProblem): Issue[] {
  const issues: Issue[] = [];
  const n = p.importance.length;
  if (p.tDy.length !== n || p.tDw.length !== n) {
    issues.push({
      path: '',
      message: `t_dy, t_dw and importance must have the same length, got ${p.tDy.length}, ${p.tDw.length} and ${n}`,
    });
  }
  const check = (name: string, values: ArrayLike<number>, nonNegative: boolean) => {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        issues.push({ path: `${name}.${k}`, message: `expected a finite number, got ${JSON.stringify(v)}` });
      } else if (nonNegative && v < 0) {
        issues.push({ path: `${name}.${k}`, message: `FLOPs cannot be negative, got ${v}` });
      }
    }
  };
  check('t_dy', p.tDy, true);
  check('t_dw', p.tDw, true);
  check('importance', p.importance, false);
  if (typeof p.budget !== 'number' || !Number.isFinite(p.budget) || p.budget < 0) {
    issues.push({ path: 'budget', message: `expected a finite number ≥ 0, got ${JSON.stringify(p.budget)}` });
  }
  const r = p.resolution ?? DEFAULT_RESOLUTION;
  if (!Number.isInteger(r) || r < 1 || r > 10_000_000) {
    issues.push({
      path: 'resolution',
      message: `expected an integer in [1, 10^7], got ${JSON.stringify(r)}`,
    });
  } else {
    const tooLarge = selectionSizeProblem(p.importance.length, r);
    if (tooLarge) issues.push({ path: 'resolution', message: tooLarge });
  }
  return issues;
}

/** Solves a selection problem; throws `SelectionInputError` on invalid input. */
export function selectTensors(p: SelectionProblem, source = 'selection problem'): Selection {
  const issues = validateProblem(p);
  if (issues.length > 0) throw new SelectionInputError(source, issues);
  const n = p.importance.length;
  const { tDy, tDw, importance: I, budget } = p;
  const q = quantise(p);

  // values[c]: best importance of items above the current D with quantised dw ≤ c.
  const values = new Float64Array(q.capacity + 1);
  const words = (q.capacity >>> 5) + 1;
  const keep = new Uint32Array(words * n);
  const mask = new Uint8Array(n);
  if (!Array.from(I).some((v) => v > 0)) return finish(p, mask, 'nothing-worth-training', q.exact);
  let best = { value: 0, deepest: -1, room: 0 };
  for (let d = 0; d < n; d++) {
    if (q.prefix[d]! > q.capacity) break; // prefix sums only grow: no deeper D fits
    const value = I[d]!;
    if (value <= 0) continue;
    const w = q.dw[d]!;
    const room = q.capacity - q.prefix[d]! - w;
    if (room >= 0 && value + values[room]! > best.value)
      best = { value: value + values[room]!, deepest: d, room };
    for (let c = q.capacity; c >= w; c--) {
      const v = values[c - w]! + value;
      if (v > values[c]!) {
        values[c] = v;
        keep[d * words + (c >>> 5)]! |= 1 << (c & 31);
      }
    }
  }

  if (best.deepest < 0) return finish(p, mask, 'nothing-fits', q.exact);
  mask[best.deepest] = 1;
  let c = best.room;
  for (let k = best.deepest - 1; k >= 0; k--) {
    if ((keep[k * words + (c >>> 5)]! >>> (c & 31)) & 1) {
      mask[k] = 1;
      c -= q.dw[k]!;
    }
  }
  fillGreedily(tDy, tDw, I, budget, mask, best.deepest);
  return finish(p, mask, 'selected', q.exact);
}

interface Quantised {
  readonly dw: Int32Array;
  /** Quantised prefix sums of t_dy, inclusive: ceil(Z·Σ_{i ≤ k} t_dy[i]). */
  readonly prefix: Float64Array;
  readonly capacity: number;
  readonly exact: boolean;
}

function quantise(p: SelectionProblem): Quantised {
  const n = p.importance.length;
  const resolution = p.resolution ?? DEFAULT_RESOLUTION;
  let total = 0;
  let integral = true;
  for (let k = 0; k < n; k++) {
    total += p.tDy[k]! + p.tDw[k]!;
    integral &&= Number.isInteger(p.tDy[k]!) && Number.isInteger(p.tDw[k]!);
  }
  const exact = integral && total <= resolution;
  const scale = exact || total === 0 ? 1 : resolution / total;
  // A relative margin of 1e-12 absorbs rounding in the products, so rounding up stays an upper bound.
  const up = (v: number) => (exact ? v : Math.ceil(v * scale * (1 - 1e-12)));
  const dw = new Int32Array(n);
  const prefix = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    dw[k] = up(p.tDw[k]!);
    sum += p.tDy[k]!;
    prefix[k] = exact ? sum : Math.ceil(sum * scale);
  }
  const budget = Math.min(p.budget, total);
  const capacity = exact ? Math.floor(budget) : Math.floor(budget * scale * (1 - 1e-12));
  return { dw, prefix, capacity: Math.max(0, capacity), exact };
}

/** Adds unselected positive tensors above `deepest`, best importance per FLOP first, while they fit. */
function fillGreedily(
  tDy: ArrayLike<number>,
  tDw: ArrayLike<number>,
  I: ArrayLike<number>,
  budget: number,
  mask: Uint8Array,
  deepest: number,
): void {
  const candidates: number[] = [];
  for (let k = 0; k < deepest; k++) if (!mask[k] && I[k]! > 0) candidates.push(k);
  candidates.sort((a, b) => I[b]! * tDw[a]! - I[a]! * tDw[b]!);
  for (const k of candidates) {
    mask[k] = 1;
    // Recomputed in index order, as `finish` reports it, so the check and the report agree bit for bit.
    if (selectionCost(tDy, tDw, mask) > budget) mask[k] = 0;
  }
}

function finish(p: SelectionProblem, mask: Uint8Array, status: SelectionStatus, exact: boolean): Selection {
  let importance = 0;
  let deepest = -1;
  mask.forEach((m, k) => {
    if (m) {
      importance += p.importance[k]!;
      deepest = k;
    }
  });
  return { status, mask, importance, cost: selectionCost(p.tDy, p.tDw, mask), deepest, exact };
}
