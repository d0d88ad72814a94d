/**
 * Green Software Foundation Carbon Aware SDK WebAPI, for sites that run it: always g/kWh, no auth.
 * The signal kind depends on the data source behind it (WattTime: marginal, Electricity Maps:
 * average), so it is configured. Pitfalls (../shared/providers/README.md §4.1): `bylocation`
 * answers 204 with no body when there is no data; a null upstream intensity arrives as
 * `rating: -1`; forecast durations are minutes while `EmissionsData.duration` is a TimeSpan.
 */
import { z } from 'zod';
import { CarbonError } from './errors.js';
import { createHttp, getJson } from './http.js';
import type { CarbonProvider, Clock } from './provider.js';
import type { ForecastPoint, Reading, SignalKind } from './reading.js';
import { isoTime } from './timestamp.js';

export const CARBON_AWARE_SDK_BASE_URL = 'http://localhost:8080';
const NAME = 'carbon-aware-sdk';

const emissions = z.array(z.object({ location: z.string(), time: isoTime, rating: z.number() }));
const forecasts = z
  .array(z.object({ forecastData: z.array(z.object({ timestamp: isoTime, value: z.number() })) }))
  .min(1);

/** How far back `current()` looks for the latest value; upstream steps are 5–60 min. */
const LOOKBACK_MS = 2 * 3600_000;

export interface CarbonAwareSdkOptions {
  readonly region: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly kind: SignalKind;
  readonly clock: Clock;
}

export class CarbonAwareSdk implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly #o: CarbonAwareSdkOptions;
  readonly #http;

  constructor(o: CarbonAwareSdkOptions) {
    this.region = o.region;
    this.#o = o;
    this.#http = createHttp(o.baseUrl, o.timeoutMs);
  }

  async current(signal?: AbortSignal): Promise<Reading> {
    const now = this.#o.clock();
    const params = {
      location: this.region,
      time: new Date(now.getTime() - LOOKBACK_MS).toISOString(),
      toTime: now.toISOString(),
    };
    const body = await getJson(this.#http, NAME, '/emissions/bylocation', emissions, { params, signal });
    const points = body.filter((e) => e.rating >= 0).map((e) => ({ time: e.time, intensity: e.rating }));
    return this.toReading(latestFirst(points), []);
  }

  async forecast(hours: number, signal?: AbortSignal): Promise<Reading> {
    const now = this.#o.clock();
    const params = {
      location: this.region,
      dataEndAt: new Date(now.getTime() + hours * 3600_000).toISOString(),
    };
    const [first] = await getJson(this.#http, NAME, '/emissions/forecasts/current', forecasts, {
      params,
      signal,
    });
    const points = first!.forecastData
      .filter((p) => p.value >= 0)
      .map((p) => ({ time: p.timestamp, intensity: p.value }));
    return this.toReading(points[0], points.slice(1));
  }

  private toReading(point: ForecastPoint | undefined, ahead: readonly ForecastPoint[]): Reading {
    if (!point) throw new CarbonError(NAME, 'no_data', `no intensity for location ${this.region}`);
    return {
      ...point,
      unit: 'gCO2eq/kWh',
      region: this.region,
      provider: NAME,
      kind: this.#o.kind,
      ...(ahead.length > 0 ? { forecast: ahead } : {}),
    };
  }
}

function latestFirst(points: readonly ForecastPoint[]): ForecastPoint | undefined {
  return [...points].sort((a, b) => b.time.getTime() - a.time.getTime())[0];
}
