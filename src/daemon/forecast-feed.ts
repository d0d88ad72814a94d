/**
 * The daemon's forecast: fetched every `every` (forecasts change slowly and cost more than a
 * reading) by the carbon poll when it is due, so the provider sees one request at a time; the last
 * good one kept with its time, and handed to the policy beside the current reading. A provider without forecasts, or one whose forecast fails before any arrived, leaves
 * the policy on persistence (the current intensity for the whole horizon), said once in the log.
 */
import type { CarbonProvider, Logger } from '../carbon/provider.js';
import type { ForecastPoint } from '../carbon/reading.js';

export class ForecastFeed {
  private points: readonly ForecastPoint[] = [];
  private fetchedAt: Date | undefined;
  private said = false;
  private attemptedAt: number | undefined;

  constructor(
    private readonly provider: CarbonProvider,
    private readonly o: { readonly every: number; readonly hours: number },
    private readonly logger: Logger,
    private readonly clock: () => Date,
  ) {}

  /** True when no fetch was tried in the last `every` (ms). */
  due(now: Date): boolean {
    return this.attemptedAt === undefined || now.getTime() - this.attemptedAt >= this.o.every;
  }

  /** Fetches the forecast; never throws (the last good forecast stays). */
  async refresh(signal?: AbortSignal): Promise<void> {
    this.attemptedAt = this.clock().getTime();
    await this.fetch(signal);
  }

  /** Forecast points after `now`; empty means persistence. */
  ahead(now: Date): readonly ForecastPoint[] {
    return this.points.filter((p) => p.time.getTime() > now.getTime());
  }

  /** Seconds from `now` to the end of the forecast (0 for persistence). */
  horizonSeconds(now: Date): number {
    const last = this.ahead(now).at(-1);
    return last ? (last.time.getTime() - now.getTime()) / 1000 : 0;
  }

  private async fetch(signal?: AbortSignal): Promise<void> {
    if (!this.provider.forecast) {
      this.persistence(`${this.provider.name} publishes no forecast`);
      return;
    }
    try {
      const r = await this.provider.forecast(this.o.hours, signal);
      if (signal?.aborted) return;
      // The guard serves the last good reading (without a forecast) when the fetch failed.
      if (!r.forecast || r.forecast.length === 0) {
        this.failed('no forecast points came back');
        return;
      }
      this.points = r.forecast;
      this.fetchedAt = this.clock();
      this.said = false;
      this.logger.info('forecast', {
        provider: this.provider.name,
        points: r.forecast.length,
        until: r.forecast.at(-1)!.time.toISOString(),
      });
    } catch (error) {
      if (signal?.aborted) return;
      this.failed((error as Error).message);
    }
  }

  /** A failed fetch keeps the last good forecast; with none, persistence. */
  private failed(why: string): void {
    const kept = this.fetchedAt ? `keeping the one from ${this.fetchedAt.toISOString()}` : 'none yet';
    this.persistence(`forecast failed (${why}); ${kept}`, this.fetchedAt !== undefined);
  }

  private persistence(why: string, keep = false): void {
    if (!keep) this.points = [];
    if (this.said && !keep) return;
    this.said = true;
    this.logger.warn(keep ? why : `${why}: planning on the current intensity for the whole horizon`, {
      provider: this.provider.name,
    });
  }
}
