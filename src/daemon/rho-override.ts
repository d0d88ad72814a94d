/**
 * `POST /v1/rho`: an operator's ρ for a while. The request is validated here, before anything is
 * stored: ρ finite in (0, 1], `ttl_seconds` finite in (0, 7 days]. An override past a week is a
 * policy change and belongs in the config; an unbounded one once overflowed `Date` and crashed the
 * daemon.
 */

/** The longest override, in seconds (7 days). */
export const MAX_OVERRIDE_TTL_SECONDS = 7 * 86_400;

/** Without `ttl_seconds`, an override lasts an hour. */
export const DEFAULT_OVERRIDE_TTL_SECONDS = 3600;

export interface RhoOverride {
  readonly rho: number;
  readonly ttlSeconds: number;
}

/** Why (ρ, ttl) cannot be applied, or undefined when it can. */
export function rhoOverrideProblem(rho: unknown, ttlSeconds: unknown): string | undefined {
  if (typeof rho !== 'number' || !Number.isFinite(rho) || !(rho > 0 && rho <= 1))
    return `rho must be a number in (0, 1], got ${show(rho)}`;
  if (
    typeof ttlSeconds !== 'number' ||
    !Number.isFinite(ttlSeconds) ||
    !(ttlSeconds > 0 && ttlSeconds <= MAX_OVERRIDE_TTL_SECONDS)
  )
    return `ttl_seconds must be a number in (0, ${MAX_OVERRIDE_TTL_SECONDS}] (7 days), got ${show(ttlSeconds)}`;
  return undefined;
}

/** A request body → an override, or the error to answer with (400). */
export function parseRhoOverride(body: unknown): RhoOverride | { readonly error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { error: 'expected a JSON object {"rho": number, "ttl_seconds": number}' };
  const { rho, ttl_seconds: ttl = DEFAULT_OVERRIDE_TTL_SECONDS } = body as Record<string, unknown>;
  const problem = rhoOverrideProblem(rho, ttl);
  return problem ? { error: problem } : { rho: rho as number, ttlSeconds: ttl as number };
}

function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === undefined ? 'nothing' : JSON.stringify(v);
}
