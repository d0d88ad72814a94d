/**
 * One carbon-intensity reading, normalised across providers. Signal kinds never mix on one axis:
 * an average or marginal intensity is in gCO2eq/kWh, a relative index (WattTime's free
 * signal-index) is a 0–100 percentile.
 */
export type SignalKind = 'average' | 'marginal' | 'relative-index';
export type IntensityUnit = 'gCO2/kWh' | 'percentile';

export interface ForecastPoint {
  readonly time: Date;
  readonly intensity: number;
}

export interface Reading {
  readonly provider: string;
  readonly region: string;
  /** Start of the interval the value is for. */
  readonly time: Date;
  readonly intensity: number;
  readonly unit: IntensityUnit;
  readonly kind: SignalKind;
  readonly forecast?: readonly ForecastPoint[];
}

/** Why a poll failed: the `reason` label of greentrainer_carbon_fetch_errors_total. */
export type FailureReason =
  | 'timeout'
  | 'refused'
  | 'network'
  | 'auth'
  | 'not_found'
  | 'rate_limited'
  | 'server'
  | 'bad_response'
  | 'implausible'
  | 'stale'
  | 'config';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly provider: string,
    readonly reason: FailureReason,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${provider}: ${message}`);
  }

  /** Worth retrying within the same poll. */
  get transient(): boolean {
    return ['timeout', 'refused', 'network', 'rate_limited', 'server'].includes(this.reason);
  }
}

/** Upper bounds past which a value is nonsense, not a dirty grid (the dirtiest grids are ~1,100 g/kWh). */
export const MAX_PLAUSIBLE: Readonly<Record<IntensityUnit, number>> = { 'gCO2/kWh': 3000, percentile: 100 };

/** Rejects a reading no grid can produce, or one from the future. */
export function checkPlausible(r: Reading, now: Date, maxFutureMs = 60 * 60 * 1000): Reading {
  const fail = (why: string) => new ProviderError(r.provider, 'implausible', why);
  if (!Number.isFinite(r.intensity)) throw fail(`intensity ${r.intensity} is not a number`);
  if (r.intensity < 0) throw fail(`negative intensity ${r.intensity} ${r.unit}`);
  if (r.intensity > MAX_PLAUSIBLE[r.unit])
    throw fail(`intensity ${r.intensity} ${r.unit} is beyond any grid`);
  if (Number.isNaN(r.time.getTime())) throw fail('the reading has no valid time');
  if (r.time.getTime() > now.getTime() + maxFutureMs)
    throw fail(`reading time ${r.time.toISOString()} is in the future (now ${now.toISOString()})`);
  return r;
}

/** WattTime's MOER unit to ours: 1 lb/MWh = 453.59237 g / 1000 kWh. */
export function lbsPerMwhToGPerKwh(lbsPerMwh: number): number {
  return (lbsPerMwh * 453.59237) / 1000;
}
