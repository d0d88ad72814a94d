/** A fixed intensity: for tests, air-gapped sites, or a site with a known supply contract. */
import type { CarbonProvider, Clock } from './provider.js';
import type { IntensityUnit, Reading, SignalKind } from './reading.js';

export interface StaticOptions {
  readonly intensity: number;
  readonly unit: IntensityUnit;
  readonly kind: SignalKind;
  readonly region: string;
  readonly clock: Clock;
}

export class StaticProvider implements CarbonProvider {
  readonly name = 'static';
  readonly region: string;
  constructor(private readonly o: StaticOptions) {
    this.region = o.region;
  }

  async current(): Promise<Reading> {
    const { intensity, unit, kind, region } = this.o;
    return { time: this.o.clock(), intensity, unit, kind, region, provider: this.name };
  }
}
