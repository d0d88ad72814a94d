/** The parts of `@tgwf/co2/data` (0.19) we use; the package ships no types for its `./data` subpath. */
declare module '@tgwf/co2/data' {
  /** Ember annual averages in g/kWh, keyed by ISO 3166 alpha-3 and aggregates (`WORLD`, `EU`). */
  export const averageIntensity: {
    readonly data: Readonly<Record<string, number>>;
    readonly type: 'average';
  };
  /** UNFCCC/IFI harmonised grid factors (2021); the values are strings. */
  export const marginalIntensity: {
    readonly data: Readonly<Record<string, string>>;
    readonly type: 'marginal';
    readonly year: string;
  };
}
