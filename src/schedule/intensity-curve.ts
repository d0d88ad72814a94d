/**
 * Carbon intensity as a step function of time: each point holds until the next, the first one
 * also before it, the last one after it (persistence). Integrals are exact on the steps, so
 * CO2e = P/3.6e6 × ∫I dt needs no sampling.
 */
import type { ForecastPoint } from '../carbon/reading.js';

export class IntensityCurve {
  private readonly times: readonly number[];
  private readonly values: readonly number[];
  /** cumulative[k] = ∫ I dt from times[0] to times[k] (g/kWh · s). */
  private readonly cumulative: readonly number[];

  /** Points must be in increasing time order; at least one. */
  constructor(points: readonly ForecastPoint[]) {
    if (points.length === 0) throw new RangeError('an intensity curve needs at least one point');
    this.times = points.map((p) => p.time.getTime());
    this.values = points.map((p) => p.intensity);
    const cumulative = [0];
    for (let k = 1; k < points.length; k++)
      cumulative.push(
        cumulative[k - 1]! + (this.values[k - 1]! * (this.times[k]! - this.times[k - 1]!)) / 1000,
      );
    this.cumulative = cumulative;
  }

  /** The intensity in force at `t` (ms). */
  at(t: number): number {
    return this.values[Math.max(0, this.indexAt(t))]!;
  }

  /** ∫ I dt over [t0, t1] (ms), in g/kWh · s. */
  integral(t0: number, t1: number): number {
    return this.primitive(t1) - this.primitive(t0);
  }

  /** Times (ms) in (t0, t1) where the intensity changes. */
  changesBetween(t0: number, t1: number): number[] {
    return this.times.filter((t) => t > t0 && t < t1);
  }

  private primitive(t: number): number {
    const k = this.indexAt(t);
    if (k < 0) return (this.values[0]! * (t - this.times[0]!)) / 1000;
    return this.cumulative[k]! + (this.values[k]! * (t - this.times[k]!)) / 1000;
  }

  /** Index of the last point at or before `t`; −1 before the first. */
  private indexAt(t: number): number {
    let lo = 0;
    let hi = this.times.length - 1;
    if (t < this.times[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
