/**
 * Errors of the carbon providers. Each has a `reason` from a small closed set so that the daemon
 * can count failed polls by reason (`greentrainer_carbon_fetch_errors_total{provider,reason}`).
 * Messages name the provider, the request path and the upstream's own words, never a secret: the
 * axios error, whose config holds request headers, is deliberately not kept as `cause`.
 */

/** Every reason, so a daemon can export each at 0 before the first failure. */
export const ERROR_REASONS = [
  'timeout',
  'refused',
  'network',
  'auth',
  'not_found',
  'bad_request',
  'rate_limited',
  'server',
  'bad_response',
  'bad_shape',
  'redirect',
  'too_large',
  'implausible',
  'stale',
  'no_data',
  'config',
] as const;

export type CarbonErrorReason =
  | 'timeout'
  | 'refused'
  | 'network'
  | 'auth'
  | 'not_found'
  | 'bad_request'
  | 'rate_limited'
  | 'server'
  | 'bad_response'
  | 'bad_shape'
  | 'redirect'
  | 'too_large'
  | 'implausible'
  | 'stale'
  | 'no_data'
  | 'config';

/**
 * Reasons worth another attempt after a backoff; the others will fail the same way again. A body
 * that is not JSON (truncated, a gateway's HTML page) can be transient; JSON of the wrong shape, a
 * redirect or an oversized body is what the server means to send.
 */
export const RETRYABLE: ReadonlySet<CarbonErrorReason> = new Set([
  'timeout',
  'refused',
  'network',
  'rate_limited',
  'server',
  'bad_response',
]);

export interface CarbonErrorOptions {
  /** From a 429's Retry-After header. */
  readonly retryAfterMs?: number;
  /** Overrides the reason's default (`RETRYABLE`), e.g. for a failed login. */
  readonly retryable?: boolean;
}

export class CarbonError extends Error {
  override readonly name = 'CarbonError';
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;
  constructor(
    readonly provider: string,
    readonly reason: CarbonErrorReason,
    /** What failed, without the provider and reason: `GET /intensity: HTTP 500: …`. */
    readonly detail: string,
    options: CarbonErrorOptions = {},
  ) {
    super(`${provider}: ${reason.replace('_', ' ')}: ${detail}`);
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.retryable ?? RETRYABLE.has(reason);
  }
}

/** Called once per failed attempt; the daemon wires it to a prom-client counter. */
export type ErrorCounter = (provider: string, reason: CarbonErrorReason) => void;

/** A counter map for the CLI and tests: `provider/reason` → count. */
export function countingErrors(): { readonly counts: Map<string, number>; readonly count: ErrorCounter } {
  const counts = new Map<string, number>();
  return {
    counts,
    count: (provider, reason) => {
      const key = `${provider}/${reason}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  };
}
