/**
 * What a carbon provider can do. Current readings and forecasts are separate capabilities
 * (carbon-aware-sdk's IEmissionsDataSource vs IForecastDataSource): a provider without a forecast
 * simply has no `forecast` method.
 */
import type { Reading } from './reading.js';

export interface CarbonProvider {
  /** Name used in errors, logs and metric labels, e.g. `uk-carbon-intensity`. */
  readonly name: string;
  readonly region: string;
  /** The latest published reading; `signal` aborts the requests (the daemon stops). */
  current(signal?: AbortSignal): Promise<Reading>;
  /** The latest reading with `forecast` filled for the next `hours` hours. */
  forecast?(hours: number, signal?: AbortSignal): Promise<Reading>;
}

/** The minimal logger providers accept (winston's child loggers fit it). */
export interface Logger {
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { warn() {}, info() {} };

/** A clock, injected so that tests and trace replays control time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
