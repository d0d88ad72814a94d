/**
 * The FLOPs objective ρ (paper §3, Eq. 4): one training step may cost at most ρ × T_full.
 * Conversions to the backward-only objective ρ_bp (Eq. 13) and the early-stop depth (Eq. 12).
 */
import { RhoError } from './errors.js';

/** ρ_bp = (1 + T_fp/T_bp)·ρ − T_fp/T_bp (Eq. 13). */
export function toRhoBp(rho: number, forward: number, backward: number): number {
  const r = forward / backward;
  return (1 + r) * rho - r;
}

/** The smallest ρ at which any backward work fits: T_fp / (T_fp + T_bp). */
export function rhoFloor(forward: number, backward: number): number {
  return forward / (forward + backward);
}

/**
 * Backward FLOPs a step may spend at objective ρ: ρ·T_full − T_fp = ρ_bp·T_bp.
 * Fails when ρ is outside (0, 1] or below the floor, where the forward pass alone overspends.
 */
export function backwardBudget(rho: number, forward: number, backward: number): number {
  if (!Number.isFinite(rho) || rho <= 0 || rho > 1) {
    throw new RhoError(`ρ must be a number in (0, 1], got ${rho}`);
  }
  const floor = rhoFloor(forward, backward);
  if (rho < floor) {
    throw new RhoError(
      `ρ = ${rho} is below this model's floor ρ_min = ${floor.toFixed(4)}: the forward pass alone costs ` +
        `${(100 * floor).toFixed(1)} % of full fine-tuning, so nothing can be trained; raise ρ to at least ${floor.toFixed(4)}`,
    );
  }
  return Math.max(0, rho * (forward + backward) - forward);
}

/**
 * Early-stop depth (Eq. 12): the number of tensors, counted from the output, that backpropagation
 * can reach within `budget` backward FLOPs. Importance need not be evaluated below it.
 */
export function earlyStopDepth(tDy: ArrayLike<number>, budget: number): number {
  let reached = 0;
  for (let k = 0; k < tDy.length; k++) {
    reached += tDy[k]!;
    if (reached > budget) return k;
  }
  return tDy.length;
}

/**
 * The smallest ρ at which some tensor can be trained: the cheapest single tensor's step,
 * T_fp + Σ_{j ≤ k} t_dy[j] + t_dw[k], over T_full. Above `rhoFloor`, because even the cheapest
 * tensor needs its own backward chain (a tied output embedding needs all of it).
 */
export function trainableFloor(
  tDy: ArrayLike<number>,
  tDw: ArrayLike<number>,
  forward: number,
  backward: number,
): number {
  let chain = 0;
  let cheapest = Number.POSITIVE_INFINITY;
  for (let k = 0; k < tDy.length; k++) {
    chain += tDy[k]!;
    cheapest = Math.min(cheapest, chain + tDw[k]!);
  }
  return (forward + cheapest) / (forward + backward);
}
