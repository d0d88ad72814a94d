/**
 * Intensity → ρ for the `linear` and `steps` maps, each with the clause of the human reason it
 * produces ("intensity 312 g/kWh ≥ 300"). Pure functions of the map and the intensity.
 */
import type { Policy } from './schema.js';

export interface MapResult {
  readonly rho: number;
  /** Why, before the arrow: "intensity 312 g/kWh ≥ 300". */
  readonly why: string;
}

type IntensityMap = Extract<Policy['map'], { type: 'linear' | 'steps' }>;

/** `g/kWh` or `percentile`, for reasons. */
export function unitLabel(unit: Policy['unit']): string {
  return unit === 'percentile' ? 'percentile' : 'g/kWh';
}

export function mapIntensity(map: IntensityMap, intensity: number, unit: Policy['unit']): MapResult {
  const i = `intensity ${round(intensity)} ${unitLabel(unit)}`;
  return map.type === 'linear' ? linear(map.points, intensity, i) : steps(map, intensity, i);
}

function linear(points: readonly (readonly [number, number])[], x: number, i: string): MapResult {
  const first = points[0]!;
  const last = points.at(-1)!;
  if (x <= first[0]) return { rho: first[1], why: `${i} ≤ ${first[0]}` };
  if (x >= last[0]) return { rho: last[1], why: `${i} ≥ ${last[0]}` };
  const k = points.findIndex(([xi]) => xi > x);
  const [x0, y0] = points[k - 1]!;
  const [x1, y1] = points[k]!;
  return { rho: y0 + ((y1 - y0) * (x - x0)) / (x1 - x0), why: `${i} between ${x0} and ${x1}` };
}

function steps(map: Extract<IntensityMap, { type: 'steps' }>, x: number, i: string): MapResult {
  const hit = map.steps.findLast(([threshold]) => x >= threshold);
  if (!hit) return { rho: map.default, why: `${i} < ${map.steps[0]![0]}` };
  return { rho: hit[1], why: `${i} ≥ ${hit[0]}` };
}

/** 312.4 → "312", 0.61234 → "0.61": readable numbers for reasons. */
export function round(x: number): string {
  return Math.abs(x) >= 10 ? String(Math.round(x)) : String(Number(x.toFixed(2)));
}
