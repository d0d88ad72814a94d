/**
 * NESO (National Grid ESO) Carbon Intensity API: GB average operational intensity, 30-minute
 * periods, 48 h forecast, no key. `region` is `national`, a region id (1–17) or an outward
 * postcode (`RG41`). See ../shared/providers/README.md §1 for the pitfalls handled here:
 * P1 `/intensity` may be the latest *complete* period, P2 windows start with the period ending at
 * `from` (filtered by `to > now`), P3 `actual` is null until measured (never read as 0), P6
 * regional windows return `data` as an object where the docs show an array, P8 duplicate periods.
 */
import { z } from 'zod';
import { CarbonError } from './errors.js';
import { createHttp, getJson } from './http.js';
import type { CarbonProvider, Clock } from './provider.js';
import type { ForecastPoint, Reading } from './reading.js';
import { isoTime, minutePrecision } from './timestamp.js';

export const UK_BASE_URL = 'https://api.carbonintensity.org.uk';
const NAME = 'uk-carbon-intensity';

const period = z.object({
  from: isoTime,
  to: isoTime,
  intensity: z.object({
    forecast: z.number().nullable(),
    actual: z.number().nullable().optional(),
    index: z.string().optional(),
  }),
});
type Period = z.infer<typeof period>;

const national = z.object({ data: z.array(period) });
const region = z.object({ regionid: z.number(), shortname: z.string().optional(), data: z.array(period) });
/** P6: one region comes as `data: [region]` or `data: region`. */
const regional = z.object({ data: z.union([z.array(region).min(1), region]) });

export interface UkOptions {
  readonly region: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

export class UkCarbonIntensity implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly #http;
  readonly #clock: Clock;
  readonly #scope: string | undefined;

  constructor(o: UkOptions) {
    this.region = o.region;
    this.#http = createHttp(o.baseUrl, o.timeoutMs);
    this.#clock = o.clock;
    this.#scope = regionScope(o.region);
  }

  async current(signal?: AbortSignal): Promise<Reading> {
    const periods = this.#scope
      ? regionPeriods(await getJson(this.#http, NAME, `/regional/${this.#scope}`, regional, { signal }))
      : (await getJson(this.#http, NAME, '/intensity', national, { signal })).data;
    return this.toReading(periods, []);
  }

  async forecast(hours: number, signal?: AbortSignal): Promise<Reading> {
    const now = this.#clock();
    const window = `/intensity/${minutePrecision(now)}/${hours <= 24 ? 'fw24h' : 'fw48h'}`;
    const periods = this.#scope
      ? regionPeriods(
          await getJson(this.#http, NAME, `/regional${window}/${this.#scope}`, regional, { signal }),
        )
      : (await getJson(this.#http, NAME, window, national, { signal })).data;
    const ahead = dedupe(periods).filter((p) => p.to.getTime() > now.getTime());
    const until = now.getTime() + hours * 3600_000;
    return this.toReading(
      ahead.slice(0, 1),
      ahead.filter((p) => p.from.getTime() < until),
    );
  }

  private toReading(periods: readonly Period[], ahead: readonly Period[]): Reading {
    const latest = periods.at(-1);
    if (!latest) throw new CarbonError(NAME, 'no_data', 'the response holds no periods');
    const intensity = periodIntensity(latest);
    if (intensity === undefined)
      throw new CarbonError(NAME, 'no_data', `no intensity for ${latest.from.toISOString()}`);
    const forecast: ForecastPoint[] = ahead.flatMap((p) => {
      const v = periodIntensity(p);
      return v === undefined ? [] : [{ time: p.from, intensity: v }];
    });
    return {
      time: latest.from,
      intensity,
      unit: 'gCO2eq/kWh',
      region: this.region,
      provider: NAME,
      kind: 'average',
      ...(ahead.length > 0 ? { forecast } : {}),
    };
  }
}

/** `regionid/13`, `postcode/RG41`, or undefined for national. */
function regionScope(region: string): string | undefined {
  if (region === 'national') return undefined;
  if (/^\d+$/.test(region)) return `regionid/${region}`;
  return `postcode/${region.toUpperCase()}`;
}

function regionPeriods(body: z.infer<typeof regional>): Period[] {
  const one = Array.isArray(body.data) ? body.data[0]! : body.data;
  return one.data;
}

/** The measured value when there is one, else the forecast; undefined when both are null (P3). */
function periodIntensity(p: Period): number | undefined {
  return p.intensity.actual ?? p.intensity.forecast ?? undefined;
}

/** P8: the API has served the same period twice; keep the last. */
function dedupe(periods: readonly Period[]): Period[] {
  const byFrom = new Map(periods.map((p) => [p.from.getTime(), p]));
  return [...byFrom.values()].sort((a, b) => a.from.getTime() - b.from.getTime());
}
