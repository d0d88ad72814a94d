/**
 * A source of carbon-intensity readings (the Carbon Aware SDK's data sources, behind one
 * interface). `now` is a parameter so replayed traces and tests control time.
 */
import type { ForecastPoint, Reading } from './reading.js';

export interface CarbonProvider {
  readonly name: string;
  readonly region: string;
  current(now: Date): Promise<Reading>;
  /** Points from now over the next `hours`, where the provider has a forecast. */
  forecast?(hours: number, now: Date): Promise<readonly ForecastPoint[]>;
}
