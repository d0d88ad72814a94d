/**
 * WattTime v3: marginal operating emissions rate (MOER) per balancing area, 5-minute steps.
 * `GET /login` with HTTP Basic returns a bearer token valid for 30 minutes; it is cached for 29
 * and renewed once when a data call answers 401, 403 or an HTML page (nginx's 403), then the call
 * is retried once. A failing login is not retried, here or by the guard's retries (its error is
 * marked not retryable), so a poll logs in at most once: retry storms against the
 * 100-per-5-minutes login limit start that way. Each bearer token is handed to `onToken` so that
 * the daemon's logger can redact it. `co2_moer` comes from `/v3/forecast` in lbs/MWh and is
 * converted to g/kWh; the free `signal-index` is a 0–100 percentile and stays one
 * (../shared/providers/README.md §3).
 */
import { z } from 'zod';
import { CarbonError } from './errors.js';
import { createHttp, getJson } from './http.js';
import type { CarbonProvider, Clock } from './provider.js';
import { lbsPerMwhToGPerKwh, type Reading } from './reading.js';
import type { Secret } from './secret.js';
import { isoTime } from './timestamp.js';

export const WATTTIME_BASE_URL = 'https://api.watttime.org';
const NAME = 'watttime';
/** The token lives 30 min; renewing a minute early avoids using it as it expires. */
export const TOKEN_LIFETIME_MS = 29 * 60_000;

const login = z.object({ token: z.string().min(1) });
const data = z.object({
  data: z.array(z.object({ point_time: isoTime, value: z.number() })).min(1),
  meta: z.object({ region: z.string(), units: z.string() }),
});

export type WattTimeSignal = 'co2_moer' | 'signal-index';

export interface WattTimeOptions {
  readonly region: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly username: string;
  readonly password: Secret;
  readonly signal: WattTimeSignal;
  readonly clock: Clock;
  /** Called with every bearer token issued (the daemon registers it for redaction). */
  readonly onToken?: (token: string) => void;
}

export class WattTime implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly forecast?: (hours: number, signal?: AbortSignal) => Promise<Reading>;
  readonly #o: WattTimeOptions;
  readonly #http;
  #token: { value: string; expiresAt: number } | undefined;

  constructor(o: WattTimeOptions) {
    this.region = o.region;
    this.#o = o;
    this.#http = createHttp(o.baseUrl, o.timeoutMs, { secrets: [o.password] });
    if (o.signal === 'co2_moer') this.forecast = (hours, signal) => this.moer(hours, signal);
  }

  current(signal?: AbortSignal): Promise<Reading> {
    return this.#o.signal === 'co2_moer' ? this.moer(0, signal) : this.index(signal);
  }

  private async index(signal: AbortSignal | undefined): Promise<Reading> {
    const params = { region: this.region, signal_type: 'co2_moer' };
    return this.toReading(await this.authorised('/v3/signal-index', params, signal), 0);
  }

  private async moer(hours: number, signal: AbortSignal | undefined): Promise<Reading> {
    const params = { region: this.region, signal_type: 'co2_moer', horizon_hours: String(hours) };
    return this.toReading(await this.authorised('/v3/forecast', params, signal), hours);
  }

  private toReading(body: z.infer<typeof data>, hours: number): Reading {
    const { units, region } = body.meta;
    if (region !== this.region)
      throw new CarbonError(NAME, 'bad_shape', `asked for region ${this.region}, got ${region}`);
    const convert =
      units === 'lbs_co2_per_mwh' ? lbsPerMwhToGPerKwh : units === 'percentile' ? Number : undefined;
    if (!convert) throw new CarbonError(NAME, 'bad_shape', `unknown units '${units}'`);
    const [first, ...rest] = body.data.map((p) => ({ time: p.point_time, intensity: convert(p.value) }));
    return {
      ...first!,
      unit: units === 'percentile' ? 'percentile' : 'gCO2eq/kWh',
      region: this.region,
      provider: NAME,
      kind: 'marginal',
      ...(hours > 0 ? { forecast: rest } : {}),
    };
  }

  /** A data call with the cached token; on an auth failure, one new login and one retry. */
  private async authorised(path: string, params: Record<string, string>, signal?: AbortSignal) {
    const fresh = this.#token === undefined || this.#token.expiresAt <= this.#o.clock().getTime();
    try {
      return await this.call(path, params, await this.token(signal), signal);
    } catch (error) {
      if (fresh || !isAuthFailure(error)) throw error;
      this.#token = undefined;
      return await this.call(path, params, await this.token(signal), signal);
    }
  }

  private call(path: string, params: Record<string, string>, token: string, signal?: AbortSignal) {
    const headers = { Authorization: `Bearer ${token}` };
    return getJson(this.#http, NAME, path, data, { params, headers, signal });
  }

  private async token(signal?: AbortSignal): Promise<string> {
    const now = this.#o.clock().getTime();
    if (this.#token && this.#token.expiresAt > now) return this.#token.value;
    this.#token = undefined;
    const auth = { username: this.#o.username, password: this.#o.password.reveal() };
    const body = await getJson(this.#http, NAME, '/login', login, { auth, signal }).catch(
      (error: unknown) => {
        if (!(error instanceof CarbonError)) throw error;
        const refused = error.reason === 'auth';
        throw new CarbonError(
          NAME,
          error.reason,
          refused ? `login as ${this.#o.username} refused: check the username and password` : error.detail,
          { retryable: false },
        );
      },
    );
    this.#o.onToken?.(body.token);
    this.#token = { value: body.token, expiresAt: now + TOKEN_LIFETIME_MS };
    return body.token;
  }
}

function isAuthFailure(error: unknown): boolean {
  return (
    error instanceof CarbonError &&
    (error.reason === 'auth' || (error.reason === 'bad_response' && error.message.includes('HTML')))
  );
}
