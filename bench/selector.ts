/**
 * Selector benchmark: the exact O(N·T) selector against the paper's O(N²·T) recurrence (the
 * reference implementation's `selection_DP`, re-implemented here as the baseline), on integer
 * instances at resolution T_q, plus how often the two disagree on the optimum.
 *
 *   npm run bench:selector            a table
 *   npm run bench:selector -- --json  one JSON object
 */

import { performance } from 'node:perf_hooks';
import { selectionCost, selectTensors } from '../src/greentrainer/selector.js';
import { rng } from '../test/helpers/random.js';
import { benchArgs } from './args.js';
import { median } from './harness.js';

const flags = benchArgs(
  `npm run bench:selector [-- --json]: the exact O(N·T) selector against the paper's O(N²·T) recurrence
on transformer-shaped instances: time, and how often the two disagree on the optimum.
  --json   one JSON object instead of the table`,
  { json: { type: 'boolean' } },
);

interface Instance {
  readonly tDy: Int32Array;
  readonly tDw: Int32Array;
  readonly importance: Float64Array;
  readonly budget: number;
}

/**
 * A transformer-shaped instance already quantised to `resolution` units: per block, large
 * weights and tiny biases/norms (log-uniform sizes), t_dy ≈ t_dw, mostly positive importance,
 * and a budget of ρ_bp = 0.5 of the total (about ρ = 0.67).
 */
function instance(n: number, resolution: number, seed: number): Instance {
  const next = rng(seed);
  const raw = Array.from({ length: n }, () => 10 ** (next() * 4));
  const sum = 2.5 * raw.reduce((a, b) => a + b, 0); // t_dw + t_dy ≤ 2.5 × raw: the total fits T_q
  const tDw = Int32Array.from(raw, (v) => Math.floor((v / sum) * resolution));
  const tDy = Int32Array.from(raw, (v) => Math.floor(((v * (0.5 + next())) / sum) * resolution));
  const importance = Float64Array.from({ length: n }, () => next() - 0.15);
  const total = tDy.reduce((a, b) => a + b, 0) + tDw.reduce((a, b) => a + b, 0);
  return { tDy, tDw, importance, budget: Math.floor(0.5 * total) };
}

/**
 * The paper's recurrence (reference `selection_DP`): L[k][t] is the best importance within the
 * top k tensors at backward FLOPs exactly t; a state chains only from states whose own tensor
 * was selected (S = 1), with Δt = t_dw[k−1] + Σ t_dy from the previous selected tensor down to k−1.
 */
function paperDp(p: Instance): { importance: number; mask: Uint8Array } {
  const n = p.tDy.length;
  const tLimit = p.budget;
  // Rows 1..N_limit: the tensors whose cumulative t_dy fits the budget. (The reference stops one
  // short when every tensor fits; the baseline does not copy that slip.)
  let nLimit = n;
  let cumulative = 0;
  for (let k = 0; k < n; k++) {
    cumulative += p.tDy[k]!;
    if (cumulative > tLimit) {
      nLimit = k;
      break;
    }
  }
  const width = tLimit + 1;
  const L = new Float64Array((nLimit + 1) * width);
  const S = new Uint8Array((nLimit + 1) * width);
  const from = new Int32Array((nLimit + 1) * width).fill(-1); // packed (k_p, t_p) of case 2
  for (let t = 0; t < width; t++) S[t] = 1;
  let best = -Infinity;
  let bestAt = 0;
  for (let k = 1; k <= nLimit; k++) {
    const w = p.tDw[k - 1]!;
    const value = p.importance[k - 1]!;
    for (let t = 0; t < width; t++) {
      const skip = L[(k - 1) * width + t]!;
      let lMax = skip;
      let chosen = -1;
      let tp = t - w;
      for (let kp = k - 1; kp >= 0 && tp >= 0; kp--) {
        tp -= p.tDy[kp]!;
        if (tp >= 0 && S[kp * width + tp] === 1) {
          const candidate = L[kp * width + tp]! + value;
          if (candidate > lMax) {
            lMax = candidate;
            chosen = kp * width + tp;
          }
        }
      }
      const at = k * width + t;
      L[at] = lMax;
      S[at] = chosen >= 0 ? 1 : 0;
      if (chosen >= 0) {
        from[at] = chosen;
      } else {
        from[at] = -2 - ((k - 1) * width + t); // case 1: inherited from (k − 1, t)
      }
      if (lMax > best) {
        best = lMax;
        bestAt = at;
      }
    }
  }
  const mask = new Uint8Array(n);
  let at = bestAt;
  while (at >= width) {
    const k = Math.floor(at / width);
    const f = from[at]!;
    if (f >= 0) {
      mask[k - 1] = 1;
      at = f;
    } else {
      at = -2 - f;
    }
  }
  return { importance: best, mask };
}

function time<T>(f: () => T, repeats: number): { ms: number; result: T } {
  let result = f();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    result = f();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), result };
}

/** Baseline work in inner-loop steps, for skipping (and estimating) runs that would take minutes. */
function paperSteps(p: Instance): number {
  return (p.tDy.length ** 2 / 2) * (p.budget + 1);
}
const PAPER_STEP_LIMIT = 2e9;

interface Row {
  n: number;
  resolution: number;
  exact_ms: number;
  paper_ms: number | null;
  paper_ms_estimated: number | null;
  speedup: number;
  agree: boolean | null;
}

function benchmarkRows(): Row[] {
  // Let the JIT compile both solvers before anything is timed.
  const warm = instance(64, 1_000, 1);
  for (let i = 0; i < 50; i++) selectTensors({ ...warm, resolution: 1_000 });
  for (let i = 0; i < 5; i++) paperDp(warm);
  const rows: Row[] = [];
  let nsPerStep = 0;
  for (const n of [64, 515, 2000]) {
    for (const resolution of [1_000, 10_000, 100_000]) {
      const p = instance(n, resolution, n * 31 + resolution);
      const problem = { ...p, resolution };
      const ours = time(() => selectTensors(problem), 5);
      if (!ours.result.exact) throw new Error('bench instances must be solved unscaled');
      const steps = paperSteps(p);
      let paperMs: number | null = null;
      let agree: boolean | null = null;
      if (steps <= PAPER_STEP_LIMIT) {
        const base = time(() => paperDp(p), 1);
        paperMs = base.ms;
        nsPerStep = Math.max(nsPerStep, (1e6 * base.ms) / steps);
        agree = Math.abs(base.result.importance - ours.result.importance) < 1e-9;
      }
      const estimated = paperMs ?? (steps * nsPerStep) / 1e6;
      rows.push({
        n,
        resolution,
        exact_ms: ours.ms,
        paper_ms: paperMs,
        paper_ms_estimated: paperMs === null ? estimated : null,
        speedup: estimated / ours.ms,
        agree,
      });
    }
  }
  return rows;
}

/** Random small instances: how often the paper's recurrence misses the optimum, and by how much. */
function disagreement(count: number) {
  const next = rng(99);
  let missed = 0;
  let worst = 0;
  let infeasible = 0;
  for (let i = 0; i < count; i++) {
    const n = 4 + Math.floor(next() * 60);
    const p = instance(n, 1_000, Math.floor(next() * 2 ** 31));
    const ours = selectTensors({ ...p, resolution: 1_000 });
    const base = paperDp(p);
    if (selectionCost(p.tDy, p.tDw, base.mask) > p.budget) infeasible++;
    if (ours.importance - base.importance > 1e-9) {
      missed++;
      worst = Math.max(worst, (ours.importance - base.importance) / ours.importance);
    }
    if (base.importance - ours.importance > 1e-9 && selectionCost(p.tDy, p.tDw, base.mask) <= p.budget) {
      throw new Error(`instance ${i}: the baseline found a better feasible mask than the exact selector`);
    }
  }
  return {
    instances: count,
    paper_missed_optimum: missed,
    worst_relative_loss: worst,
    paper_infeasible: infeasible,
  };
}

const rows = benchmarkRows();
const agreement = disagreement(300);
if (flags.json) {
  console.log(JSON.stringify({ rows, disagreement: agreement }, null, 2));
} else {
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(2));
  console.log('selector: exact O(N·T) vs the paper O(N²·T) recurrence (median of 5 runs; baseline 1 run)\n');
  console.log('    N      T_q   exact ms   paper ms   speed-up  same optimum');
  for (const r of rows) {
    const paper = r.paper_ms === null ? `~${fmt(r.paper_ms_estimated!)}*` : fmt(r.paper_ms);
    const same = r.agree === null ? '-' : r.agree ? 'yes' : 'NO';
    console.log(
      `${String(r.n).padStart(5)} ${String(r.resolution).padStart(8)} ${fmt(r.exact_ms).padStart(10)} ${paper.padStart(10)} ${`${fmt(r.speedup)}x`.padStart(10)}  ${same}`,
    );
  }
  console.log(
    `\n* estimated from the measured time per inner step; not run (over ${PAPER_STEP_LIMIT.toExponential(0)} steps).`,
  );
  console.log(
    `paper recurrence missed the optimum on ${agreement.paper_missed_optimum} of ${agreement.instances} random instances ` +
      `(N 4–63, T_q 10³; worst loss ${(100 * agreement.worst_relative_loss).toFixed(1)} % of the optimal importance); ` +
      `infeasible masks: ${agreement.paper_infeasible}.`,
  );
}
