/**
 * The one record every carbon provider returns: an intensity at a time, in a unit, for a region,
 * with its signal kind. Average, marginal and percentile signals are different quantities and are
 * never mixed on one axis, so the unit and kind travel with the value.
 */

/** `gCO2eq/kWh` for average and marginal intensities; `percentile` for relative 0–100 indices. */
export type IntensityUnit = 'gCO2eq/kWh' | 'percentile';

/** Average (what the grid mix emits) or marginal (what one more kWh emits). */
export type SignalKind = 'average' | 'marginal';

/** One forecast interval starting at `time`. */
export interface ForecastPoint {
  readonly time: Date;
  readonly intensity: number;
}

export interface Reading {
  /** Start of the interval the value describes (providers publish interval starts). */
  readonly time: Date;
  /** In `unit`: g/kWh or a 0–100 percentile. */
  readonly intensity: number;
  readonly unit: IntensityUnit;
  readonly region: string;
  readonly provider: string;
  readonly kind: SignalKind;
  /** Future intervals, oldest first, when the provider publishes them. */
  readonly forecast?: readonly ForecastPoint[];
  /** Set by the last-known-good cache when it serves an old reading: how old it is (ms). */
  readonly ageMs?: number;
  /** True when the reading is older than the configured `stale_after`. */
  readonly stale?: boolean;
}

/** 1 lb = 453.59237 g and 1 MWh = 1000 kWh, so lbs/MWh × 0.45359237 = g/kWh (exact). */
export const G_PER_KWH_PER_LBS_PER_MWH = 0.45359237;

/** WattTime MOER in lbs CO2/MWh → g CO2/kWh. */
export function lbsPerMwhToGPerKwh(lbsPerMwh: number): number {
  return lbsPerMwh * G_PER_KWH_PER_LBS_PER_MWH;
}

/** Above any real grid: lignite plants emit about 1,100 g/kWh, so 2,000 is already nonsense. */
export const MAX_INTENSITY_G_PER_KWH = 2000;

/** Readings more than this far ahead of the local clock are rejected (clock skew allowance). */
export const MAX_CLOCK_AHEAD_MS = 2 * 3600_000;

/** Why a value cannot be a reading, or undefined when it can. */
export function implausibility(
  value: { time: Date; intensity: number; unit: IntensityUnit },
  now: Date,
): string | undefined {
  const { intensity, unit, time } = value;
  if (!Number.isFinite(intensity)) return `intensity ${intensity} is not a finite number`;
  if (intensity < 0) return `intensity ${intensity} is negative`;
  const max = unit === 'percentile' ? 100 : MAX_INTENSITY_G_PER_KWH;
  if (intensity > max) return `intensity ${intensity} ${unit} is above the plausible maximum ${max}`;
  if (Number.isNaN(time.getTime())) return 'timestamp is not a valid date';
  if (time.getTime() - now.getTime() > MAX_CLOCK_AHEAD_MS)
    return `timestamp ${time.toISOString()} is in the future (now ${now.toISOString()})`;
  return undefined;
}

/** A reading as plain JSON (ISO timestamps), for `--json` output and status endpoints. */
export function readingToJson(r: Reading): Record<string, unknown> {
  return {
    time: r.time.toISOString(),
    intensity: r.intensity,
    unit: r.unit,
    region: r.region,
    provider: r.provider,
    kind: r.kind,
    ...(r.ageMs === undefined ? {} : { age_seconds: Math.round(r.ageMs / 1000) }),
    ...(r.stale === undefined ? {} : { stale: r.stale }),
    ...(r.forecast
      ? { forecast: r.forecast.map((p) => ({ time: p.time.toISOString(), intensity: p.intensity })) }
      : {}),
  };
}
