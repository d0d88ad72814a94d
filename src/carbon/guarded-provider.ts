/**
 * The robustness layer around any provider, implementing the same interface: retries, rejection
 * of implausible readings, staleness, and a last-known-good reading served (with its age) when
 * the provider fails. It logs each failure it absorbs once; failures it cannot absorb (nothing
 * known yet) are thrown, not logged. The last failure is kept (`lastError`) until a fetch
 * succeeds, so a daemon can show it while serving the last good reading. A fetch whose `signal`
 * aborted is neither counted, logged nor served from the last good reading: it is rethrown.
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
  readonly forecast?: (hours: number, signal?: AbortSignal) => Promise<Reading>;
  #lastGood: Reading | undefined;
  #lastError: { readonly error: CarbonError; readonly at: Date } | undefined;

  constructor(
    private readonly inner: CarbonProvider,
    private readonly o: GuardOptions,
  ) {
    this.name = inner.name;
    this.region = inner.region;
    const forecast = inner.forecast?.bind(inner);
    if (forecast) this.forecast = (hours, signal) => this.guard(() => forecast(hours, signal), signal);
  }

  current(signal?: AbortSignal): Promise<Reading> {
    return this.guard(() => this.inner.current(signal), signal);
  }

  /** The last reading that passed every check, if any. */
  get lastGood(): Reading | undefined {
    return this.#lastGood;
  }

  /** The failure of the last fetch, if it failed (also when the last good reading was served). */
  get lastError(): { readonly error: CarbonError; readonly at: Date } | undefined {
    return this.#lastError;
  }

  private async guard(fetch: () => Promise<Reading>, signal?: AbortSignal): Promise<Reading> {
    try {
      const reading = await withRetry(this.name, () => this.checked(fetch), this.o, signal);
      this.#lastGood = reading;
      this.#lastError = undefined;
      return reading;
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof CarbonError) this.#lastError = { error, at: this.o.clock() };
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
