/**
 * Annual country averages bundled with `@tgwf/co2` (CO2.js, data CC BY-SA 4.0): the offline
 * default when no live provider is configured. `region` is an ISO 3166 alpha-3 code (`GBR`, `DEU`)
 * or an aggregate (`WORLD`, `EU`). The value does not change during the year, so the reading is
 * timestamped now and never goes stale.
 */
import { averageIntensity, marginalIntensity } from '@tgwf/co2/data';
import { CarbonError } from './errors.js';
import type { CarbonProvider, Clock } from './provider.js';
import type { Reading, SignalKind } from './reading.js';

const NAME = 'co2js';

export interface Co2jsOptions {
  readonly region: string;
  readonly kind: SignalKind;
  readonly clock: Clock;
}

export class Co2js implements CarbonProvider {
  readonly name = NAME;
  readonly region: string;
  readonly #intensity: number;

  constructor(private readonly o: Co2jsOptions) {
    this.region = o.region.toUpperCase();
    const table: Readonly<Record<string, number | string>> =
      o.kind === 'average' ? averageIntensity.data : marginalIntensity.data;
    const value = table[this.region];
    if (value === undefined) {
      const known = Object.keys(table).slice(0, 8).join(', ');
      throw new CarbonError(
        NAME,
        'config',
        `no ${o.kind} intensity for '${o.region}' (alpha-3 codes such as ${known}, …)`,
      );
    }
    this.#intensity = Number(value);
  }

  async current(): Promise<Reading> {
    return {
      time: this.o.clock(),
      intensity: this.#intensity,
      unit: 'gCO2eq/kWh',
      region: this.region,
      provider: NAME,
      kind: this.o.kind,
    };
  }
}
