/**
 * A provider made safe to poll from a daemon: bounded retries with exponential backoff and
 * jitter (a 429's Retry-After respected), plausibility checks on every reading, the last good
 * reading kept with its age, and staleness after `staleAfterMs`. It never throws: a poll returns
 * the failure, and `onError` counts it by reason.
 */
import type { CarbonProvider } from './provider.js';
import { checkPlausible, type FailureReason, ProviderError, type Reading } from './reading.js';

export interface SourceOptions {
  readonly staleAfterMs: number;
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly onError?: (reason: FailureReason, error: ProviderError) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface SourceState {
  readonly reading: Reading | undefined;
  readonly ageSeconds: number | undefined;
  readonly stale: boolean;
  readonly lastError:
    | { readonly reason: FailureReason; readonly message: string; readonly at: Date }
    | undefined;
}

export class CarbonSource {
  private last: Reading | undefined;
  private lastError: SourceState['lastError'];

  constructor(
    readonly provider: CarbonProvider,
    private readonly o: SourceOptions,
  ) {}

  /** Fetches a reading (with retries); on failure keeps the last good one. */
  async poll(now: () => Date): Promise<ProviderError | undefined> {
    const retries = this.o.retries ?? 2;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 0; ; attempt++) {
      try {
        const r = checkPlausible(await this.provider.current(now()), now());
        this.last = r;
        this.lastError = undefined;
        return undefined;
      } catch (caught) {
        const error =
          caught instanceof ProviderError
            ? caught
            : new ProviderError(
                this.provider.name,
                'bad_response',
                (caught as Error)?.message ?? String(caught),
              );
        this.o.onError?.(error.reason, error);
        this.lastError = { reason: error.reason, message: error.message, at: now() };
        if (!error.transient || attempt >= retries) return error;
        await sleep(this.delay(attempt, error.retryAfterMs));
      }
    }
  }

  private delay(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.o.maxBackoffMs ?? 60_000);
    const base = Math.min((this.o.backoffMs ?? 500) * 2 ** attempt, this.o.maxBackoffMs ?? 60_000);
    return base * (0.5 + (this.o.random ?? Math.random)() / 2);
  }

  state(now: Date): SourceState {
    const r = this.last;
    const ageSeconds = r ? Math.max(0, (now.getTime() - r.time.getTime()) / 1000) : undefined;
    return {
      reading: r,
      ageSeconds,
      stale: ageSeconds === undefined || ageSeconds * 1000 > this.o.staleAfterMs,
      lastError: this.lastError,
    };
  }
}
