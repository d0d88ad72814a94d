/**
 * Electricity Maps API v3: average, lifecycle (by default) consumption intensity per zone, hourly.
 * Authenticated by the `auth-token` header. `/forecast` is a paid endpoint. Pitfalls handled
 * (../shared/providers/README.md §2.6): `carbonIntensity` may be null; `datetime` is the start of
 * the hour and may be later than `updatedAt`; the IP fallback is disabled and the `zone` of the
 * answer is checked against the one asked for.
 */
import { z } from 'zod';
import { CarbonError } from './errors.js';
import { createHttp, getJson } from './http.js';
import type { CarbonProvider } from './provider.js';
import type { Reading } from './reading.js';
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
}

export class ElectricityMaps implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly #http;
  readonly #token: Secret;
  readonly #params: Record<string, string>;

  constructor(o: ElectricityMapsOptions) {
    this.region = o.region;
    this.#http = createHttp(o.baseUrl, o.timeoutMs);
    this.#token = o.token;
    this.#params = {
      zone: o.region,
      emissionFactorType: o.emissionFactorType,
      shouldUseFallbackCallerLookup: 'false',
    };
  }

  async current(): Promise<Reading> {
    const body = await getJson(this.#http, NAME, '/carbon-intensity/latest', latest, this.request());
    this.checkZone(body.zone);
    if (body.carbonIntensity === null)
      throw new CarbonError(NAME, 'no_data', `null intensity for ${body.datetime.toISOString()}`);
    return this.toReading(body.datetime, body.carbonIntensity);
  }

  async forecast(hours: number): Promise<Reading> {
    const [now, body] = await Promise.all([
      this.current(),
      getJson(
        this.#http,
        NAME,
        '/carbon-intensity/forecast',
        forecast,
        this.request({ horizonHours: String(hours) }),
      ),
    ]);
    this.checkZone(body.zone);
    const points = body.forecast.flatMap((p) =>
      p.carbonIntensity === null ? [] : [{ time: p.datetime, intensity: p.carbonIntensity }],
    );
    return { ...now, forecast: points.filter((p) => p.time.getTime() > now.time.getTime()) };
  }

  private request(extra: Record<string, string> = {}) {
    return { params: { ...this.#params, ...extra }, headers: { 'auth-token': this.#token.reveal() } };
  }

  private checkZone(zone: string): void {
    if (zone !== this.region)
      throw new CarbonError(NAME, 'bad_response', `asked for zone ${this.region}, got ${zone}`);
  }

  private toReading(time: Date, intensity: number): Reading {
    return { time, intensity, unit: 'gCO2eq/kWh', region: this.region, provider: NAME, kind: 'average' };
  }
}
