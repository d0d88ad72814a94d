/**
 * The robustness layer around any provider, implementing the same interface: retries, rejection
 * of implausible readings, staleness, and a last-known-good reading served (with its age) when
 * the provider fails. It logs each failure it absorbs once; failures it cannot absorb (nothing
 * known yet) are thrown, not logged.
 */
import { CarbonError, type ErrorCounter } from './errors.js';
import type { CarbonProvider, Clock, Logger } from './provider.js';
import { implausibility, type Reading } from './reading.js';
import { type RetryOptions, withRetry } from './retry.js';

export interface GuardOptions extends Omit<RetryOptions, 'onError'> {
  /** A reading older than this (from its own timestamp) is stale. */
  readonly staleAfterMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onError: ErrorCounter;
}

export class GuardedProvider implements CarbonProvider {
  readonly name: string;
  readonly region: string;
  readonly forecast?: (hours: number) => Promise<Reading>;
  #lastGood: Reading | undefined;

  constructor(
    private readonly inner: CarbonProvider,
    private readonly o: GuardOptions,
  ) {
    this.name = inner.name;
    this.region = inner.region;
    const forecast = inner.forecast?.bind(inner);
    if (forecast) this.forecast = (hours) => this.guard(() => forecast(hours));
  }

  current(): Promise<Reading> {
    return this.guard(() => this.inner.current());
  }

  /** The last reading that passed every check, if any. */
  get lastGood(): Reading | undefined {
    return this.#lastGood;
  }

  private async guard(fetch: () => Promise<Reading>): Promise<Reading> {
    try {
      const reading = await withRetry(this.name, () => this.checked(fetch), this.o);
      this.#lastGood = reading;
      return reading;
    } catch (error) {
      const last = this.#lastGood;
      if (!last || !(error instanceof CarbonError)) throw error;
      const ageMs = this.o.clock().getTime() - last.time.getTime();
      const stale = ageMs > this.o.staleAfterMs;
      this.o.logger.warn(
        `${error.message}; using the last good reading (${Math.round(ageMs / 1000)} s old)`,
        {
          provider: this.name,
          reason: error.reason,
          stale,
        },
      );
      return { ...last, ageMs, stale };
    }
  }

  private async checked(fetch: () => Promise<Reading>): Promise<Reading> {
    const reading = await fetch();
    const now = this.o.clock();
    const problem = implausibility(reading, now);
    if (problem) throw new CarbonError(this.name, 'implausible', problem);
    const ageMs = now.getTime() - reading.time.getTime();
    if (ageMs > this.o.staleAfterMs)
      throw new CarbonError(
        this.name,
        'stale',
        `latest reading is from ${reading.time.toISOString()}, ${Math.round(ageMs / 60_000)} min old`,
      );
    const forecast = reading.forecast?.filter(
      (p) => implausibility({ ...p, unit: reading.unit }, p.time) === undefined,
    );
    return { ...reading, ageMs: Math.max(0, ageMs), stale: false, ...(forecast ? { forecast } : {}) };
  }
}
