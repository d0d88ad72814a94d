/** A fixed intensity: for sites that know their grid mix, and for tests. */
import type { CarbonProvider } from './provider.js';
import type { Reading } from './reading.js';

export class StaticProvider implements CarbonProvider {
  readonly name = 'static';

  constructor(
    readonly intensity: number,
    readonly region = 'static',
  ) {}

  async current(now: Date): Promise<Reading> {
    return {
      provider: this.name,
      region: this.region,
      time: now,
      intensity: this.intensity,
      unit: 'gCO2/kWh',
      kind: 'average',
    };
  }
}
