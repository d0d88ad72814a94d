/**
 * Electricity Maps API v3: average, lifecycle (by default) consumption intensity per zone, hourly.
 * Authenticated by the `auth-token` header. `/forecast` is a paid endpoint. Pitfalls handled
 * (../shared/providers/README.md §2.6): `carbonIntensity` may be null; `datetime` is the start of
 * the hour and may be later than `updatedAt`; the IP fallback is disabled and the `zone` of the
 * answer is checked against the one asked for. Without a forecast plan `/forecast` answers 403: the
 * forecast then degrades to the latest reading, with a warning.
 */
import { z } from 'zod';
import { CarbonError } from './errors.js';
import { createHttp, getJson } from './http.js';
import type { CarbonProvider, Logger } from './provider.js';
import type { ForecastPoint, Reading } from './reading.js';
import type { Secret } from './secret.js';
import { isoTime } from './timestamp.js';

export const ELECTRICITY_MAPS_BASE_URL = 'https://api.electricitymaps.com/v3';
const NAME = 'electricitymaps';

const latest = z.object({
  zone: z.string(),
  carbonIntensity: z.number().nullable(),
  datetime: isoTime,
  emissionFactorType: z.string().optional(),
});
const forecast = z.object({
  zone: z.string(),
  forecast: z.array(z.object({ carbonIntensity: z.number().nullable(), datetime: isoTime })),
});

export interface ElectricityMapsOptions {
  readonly region: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly token: Secret;
  readonly emissionFactorType: 'lifecycle' | 'direct';
  readonly logger: Logger;
}

export class ElectricityMaps implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly #http;
  readonly #token: Secret;
  readonly #params: Record<string, string>;
  readonly #logger: Logger;

  constructor(o: ElectricityMapsOptions) {
    this.region = o.region;
    this.#http = createHttp(o.baseUrl, o.timeoutMs, { secrets: [o.token] });
    this.#token = o.token;
    this.#logger = o.logger;
    this.#params = {
      zone: o.region,
      emissionFactorType: o.emissionFactorType,
      shouldUseFallbackCallerLookup: 'false',
    };
  }

  async current(signal?: AbortSignal): Promise<Reading> {
    const body = await getJson(this.#http, NAME, '/carbon-intensity/latest', latest, this.request(signal));
    this.checkZone(body.zone);
    if (body.carbonIntensity === null)
      throw new CarbonError(NAME, 'no_data', `null intensity for ${body.datetime.toISOString()}`);
    return this.toReading(body.datetime, body.carbonIntensity);
  }

  async forecast(hours: number, signal?: AbortSignal): Promise<Reading> {
    // One request at a time: the daemon promises a provider never more than one in flight.
    const now = await this.current(signal);
    const ahead = await this.points(hours, signal).catch((error: unknown) => error as Error);
    if (ahead instanceof Error) {
      if (!(ahead instanceof CarbonError) || signal?.aborted) throw ahead;
      this.#logger.warn(`${ahead.message}; using the latest reading without a forecast`, {
        provider: NAME,
        reason: ahead.reason,
      });
      return now;
    }
    return { ...now, forecast: ahead.filter((p) => p.time.getTime() > now.time.getTime()) };
  }

  private async points(hours: number, signal?: AbortSignal): Promise<ForecastPoint[]> {
    const request = this.request(signal, { horizonHours: String(hours) });
    const body = await getJson(this.#http, NAME, '/carbon-intensity/forecast', forecast, request);
    this.checkZone(body.zone);
    return body.forecast.flatMap((p) =>
      p.carbonIntensity === null ? [] : [{ time: p.datetime, intensity: p.carbonIntensity }],
    );
  }

  private request(signal: AbortSignal | undefined, extra: Record<string, string> = {}) {
    return {
      params: { ...this.#params, ...extra },
      headers: { 'auth-token': this.#token.reveal() },
      signal,
    };
  }

  private checkZone(zone: string): void {
    if (zone !== this.region)
      throw new CarbonError(NAME, 'bad_shape', `asked for zone ${this.region}, got ${zone}`);
  }

  private toReading(time: Date, intensity: number): Reading {
    return { time, intensity, unit: 'gCO2eq/kWh', region: this.region, provider: NAME, kind: 'average' };
  }
}
