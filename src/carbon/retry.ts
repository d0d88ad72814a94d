/**
 * Bounded retries with exponential backoff and full jitter, honouring a 429's Retry-After.
 * Sleep and randomness are injected so that tests run instantly and deterministically.
 */
import { CarbonError, type ErrorCounter, RETRYABLE } from './errors.js';

export interface RetryOptions {
  /** Attempts after the first; 0 disables retrying. */
  readonly retries: number;
  /** First backoff; doubles each attempt. */
  readonly baseDelayMs: number;
  /** No single wait is longer; a Retry-After beyond it gives up instead of blocking a poll. */
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly onError: ErrorCounter;
}

/** Two retries a second and then four apart keep a 5-minute poll well inside its period. */
export const DEFAULT_RETRY = { retries: 2, baseDelayMs: 1000, maxDelayMs: 30_000 } as const;

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, fails for a non-retryable reason, or retries run out. */
export async function withRetry<T>(provider: string, attempt: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const e = error instanceof CarbonError ? error : new CarbonError(provider, 'network', String(error));
      o.onError(e.provider, e.reason);
      if (!RETRYABLE.has(e.reason) || n >= o.retries) throw e;
      const delay = backoffMs(n, e.retryAfterMs, o);
      if (delay === undefined) throw e;
      await o.sleep(delay);
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
