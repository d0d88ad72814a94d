/**
 * Replays a trace as if it were live, optionally sped up: with `speed` 48 a day of half-hourly
 * data passes in 30 minutes. Trace time is `traceStart + (now − startedAt) × speed`; reading and
 * forecast times are mapped back to the wall clock so that ages and forecasts line up with `now`.
 * The clock is injected so that tests and demos control time.
 */
import { CarbonError } from './errors.js';
import type { CarbonProvider, Clock } from './provider.js';
import type { ForecastPoint, Reading } from './reading.js';
import type { Trace } from './trace-file.js';

export interface TraceOptions {
  readonly trace: Trace;
  readonly region: string;
  /** Trace seconds per wall-clock second. */
  readonly speed: number;
  /** Start again at the beginning after the last point. */
  readonly loop: boolean;
  readonly clock: Clock;
}

export class TraceProvider implements CarbonProvider {
  readonly name = 'trace';
  readonly region: string;
  readonly #o: TraceOptions;
  readonly #startedAt: number;

  constructor(o: TraceOptions) {
    this.region = o.region;
    this.#o = o;
    this.#startedAt = o.clock().getTime();
  }

  async current(): Promise<Reading> {
    return this.readingAt(this.#o.clock(), 0);
  }

  async forecast(hours: number): Promise<Reading> {
    return this.readingAt(this.#o.clock(), hours);
  }

  private readingAt(now: Date, hours: number): Reading {
    const { points } = this.#o.trace;
    const first = points[0]!.time.getTime();
    const span = points.at(-1)!.time.getTime() - first;
    let elapsed = (now.getTime() - this.#startedAt) * this.#o.speed;
    if (elapsed > span) {
      if (!this.#o.loop)
        throw new CarbonError(
          this.name,
          'no_data',
          `the trace ended at ${points.at(-1)!.time.toISOString()}`,
        );
      elapsed %= span;
    }
    const traceNow = first + elapsed;
    const index = points.findLastIndex((p) => p.time.getTime() <= traceNow);
    const toWall = (p: ForecastPoint): ForecastPoint => ({
      time: new Date(now.getTime() + (p.time.getTime() - traceNow) / this.#o.speed),
      intensity: p.intensity,
    });
    const horizon = now.getTime() + hours * 3600_000;
    const ahead = points
      .slice(index + 1)
      .map(toWall)
      .filter((p) => p.time.getTime() < horizon);
    return {
      ...toWall(points[index]!),
      unit: this.#o.trace.unit,
      region: this.region,
      provider: this.name,
      kind: this.#o.trace.kind,
      ...(hours > 0 ? { forecast: ahead } : {}),
    };
  }
}
