/**
 * The `carbon:` block of the daemon config, validated by zod: `provider` picks the schema of the
 * rest. Secrets are never values here, only where to find them (`token_env` / `token_file`,
 * `password_env` / `password_file`), so a config can be printed or logged as it is.
 */
import { z } from 'zod';
import { durationMs } from '../config/duration.js';

/** Defaults, in one place. */
export const CARBON_DEFAULTS = {
  /** The UK API can take seconds; a slower answer is better retried. */
  timeout: '10s',
  retries: 2,
  /** UK periods are 30 min and `/intensity` may be the previous one (P1): an hour is normal. */
  stale_after: '1h',
} as const;

const common = {
  region: z.string().min(1).optional(),
  base_url: z.url().optional(),
  timeout: durationMs.prefault(CARBON_DEFAULTS.timeout),
  retries: z.int().min(0).max(10).default(CARBON_DEFAULTS.retries),
  stale_after: durationMs.prefault(CARBON_DEFAULTS.stale_after),
  /** Poll schedule for the daemon (node-cron); not used by the providers themselves. */
  poll: z.string().optional(),
  /** The daemon's forecast fetches (for `budget` policies): how often, and how far ahead. */
  forecast: z
    .strictObject({
      every: durationMs.prefault('30m'),
      hours: z.int().min(1).max(168).default(48),
    })
    .prefault({}),
};
const kind = z.enum(['average', 'marginal']);
const unit = z.enum(['gCO2eq/kWh', 'percentile']);

export const carbonConfigSchema = z.discriminatedUnion('provider', [
  z.strictObject({ provider: z.literal('uk-carbon-intensity'), ...common }),
  z.strictObject({
    provider: z.literal('electricitymaps'),
    ...common,
    region: z.string().min(1),
    token_env: z.string().optional(),
    token_file: z.string().optional(),
    emission_factor_type: z.enum(['lifecycle', 'direct']).default('lifecycle'),
  }),
  z.strictObject({
    provider: z.literal('watttime'),
    ...common,
    region: z.string().min(1),
    username: z.string().min(1),
    password_env: z.string().optional(),
    password_file: z.string().optional(),
    signal: z.enum(['co2_moer', 'signal-index']).default('signal-index'),
  }),
  z.strictObject({
    provider: z.literal('carbon-aware-sdk'),
    ...common,
    region: z.string().min(1),
    kind: kind.default('average'),
  }),
  z.strictObject({
    provider: z.literal('trace'),
    ...common,
    file: z.string().min(1),
    speed: z.number().positive().default(1),
    loop: z.boolean().default(true),
  }),
  z.strictObject({
    provider: z.literal('static'),
    ...common,
    intensity: z.number().nonnegative(),
    unit: unit.default('gCO2eq/kWh'),
    kind: kind.default('average'),
  }),
  z.strictObject({ provider: z.literal('co2js'), ...common, kind: kind.default('average') }),
]);

/** The config as written (before defaults). */
export type CarbonConfigInput = z.input<typeof carbonConfigSchema>;
export type CarbonConfig = z.output<typeof carbonConfigSchema>;
export type ProviderName = CarbonConfig['provider'];
