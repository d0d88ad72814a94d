/**
 * Bounded retries with exponential backoff and full jitter, honouring a 429's Retry-After.
 * Sleep and randomness are injected so that tests run instantly and deterministically.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CarbonError, type ErrorCounter } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first; 0 disables retrying. */
  readonly retries: number;
  /** First backoff; doubles each attempt. */
  readonly baseDelayMs: number;
  /** No single wait is longer; a Retry-After beyond it gives up instead of blocking a poll. */
  readonly maxDelayMs: number;
  /** Rejects when `signal` aborts, so that a shutdown does not wait out a backoff. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly onError: ErrorCounter;
}

/** Two retries a second and then four apart keep a 5-minute poll well inside its period. */
export const DEFAULT_RETRY = { retries: 2, baseDelayMs: 1000, maxDelayMs: 30_000 } as const;

export const realSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : {});

/**
 * Runs `attempt` until it succeeds, fails for a non-retryable reason, or retries run out. Once
 * `signal` aborts (the daemon stops) the failure is thrown as it is: neither counted nor retried.
 */
export async function withRetry<T>(
  provider: string,
  attempt: () => Promise<T>,
  o: RetryOptions,
  signal?: AbortSignal,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted) throw error;
      const e = error instanceof CarbonError ? error : new CarbonError(provider, 'network', String(error));
      o.onError(e.provider, e.reason);
      if (!e.retryable || n >= o.retries) throw e;
      const wait = backoffMs(n, e.retryAfterMs, o);
      if (wait === undefined) throw e;
      await o.sleep(wait, signal);
    }
  }
}

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): uniform in
 * [0, base·2ⁿ], capped; a Retry-After is a floor. Undefined when Retry-After exceeds the cap.
 */
export function backoffMs(
  attempt: number,
  retryAfterMs: number | undefined,
  o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
): number | undefined {
  if (retryAfterMs !== undefined && retryAfterMs > o.maxDelayMs) return undefined;
  const jittered = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt) * o.random();
  return Math.max(retryAfterMs ?? 0, jittered);
}
