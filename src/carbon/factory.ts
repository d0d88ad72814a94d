/**
 * Builds a provider from a validated `carbon:` config: an explicit registry name → factory, each
 * wrapped in the guard (retries, plausibility, staleness, last known good). The one place that
 * turns config into secrets, base URLs and options.
 */
import { toIssues } from '../greentrainer/errors.js';
import { CARBON_AWARE_SDK_BASE_URL, CarbonAwareSdk } from './carbon-aware-sdk.js';
import { Co2js } from './co2js.js';
import { type CarbonConfig, carbonConfigSchema } from './config.js';
import { ELECTRICITY_MAPS_BASE_URL, ElectricityMaps } from './electricity-maps.js';
import { CarbonError, type ErrorCounter } from './errors.js';
import { GuardedProvider } from './guarded-provider.js';
import type { CarbonProvider, Clock, Logger } from './provider.js';
import { DEFAULT_RETRY, realSleep } from './retry.js';
import { resolveSecret, type Secret, type SecretSource } from './secret.js';
import { StaticProvider } from './static-provider.js';
import { readTraceFile } from './trace-file.js';
import { TraceProvider } from './trace-provider.js';
import { UK_BASE_URL, UkCarbonIntensity } from './uk-carbon-intensity.js';
import { WATTTIME_BASE_URL, WattTime } from './watttime.js';

/** Where secrets go to be redacted from all output (the daemon's logger `Secrets`). */
export interface SecretSink {
  add(value: string | undefined): void;
}

export interface ProviderDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onError: ErrorCounter;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Receives every credential the provider loads or is issued (tokens, passwords). */
  readonly secrets?: SecretSink;
}

/** Reads a secret and registers its value for redaction. */
function secret(d: ProviderDeps, provider: string, what: string, source: SecretSource): Secret {
  const s = resolveSecret(provider, what, source, d.env, (message) => d.logger.warn(message, { provider }));
  d.secrets?.add(s.reveal());
  return s;
}

type Factory<P extends CarbonConfig['provider']> = (
  c: Extract<CarbonConfig, { provider: P }>,
  d: ProviderDeps,
) => CarbonProvider;

const FACTORIES: { [P in CarbonConfig['provider']]: Factory<P> } = {
  'uk-carbon-intensity': (c, d) =>
    new UkCarbonIntensity({
      region: c.region ?? 'national',
      baseUrl: c.base_url ?? UK_BASE_URL,
      timeoutMs: c.timeout,
      clock: d.clock,
    }),
  electricitymaps: (c, d) =>
    new ElectricityMaps({
      region: c.region,
      baseUrl: c.base_url ?? ELECTRICITY_MAPS_BASE_URL,
      timeoutMs: c.timeout,
      token: secret(d, c.provider, 'token', {
        env: c.token_env ?? 'ELECTRICITYMAPS_TOKEN',
        file: c.token_file,
      }),
      emissionFactorType: c.emission_factor_type,
      logger: d.logger,
    }),
  watttime: (c, d) =>
    new WattTime({
      region: c.region,
      baseUrl: c.base_url ?? WATTTIME_BASE_URL,
      timeoutMs: c.timeout,
      username: c.username,
      password: secret(d, c.provider, 'password', {
        env: c.password_env ?? 'WATTTIME_PASSWORD',
        file: c.password_file,
      }),
      signal: c.signal,
      clock: d.clock,
      onToken: (token) => d.secrets?.add(token),
    }),
  'carbon-aware-sdk': (c, d) =>
    new CarbonAwareSdk({
      region: c.region,
      baseUrl: c.base_url ?? CARBON_AWARE_SDK_BASE_URL,
      timeoutMs: c.timeout,
      kind: c.kind,
      clock: d.clock,
    }),
  trace: (c, d) =>
    new TraceProvider({
      trace: readTraceFile(c.file),
      region: c.region ?? 'trace',
      speed: c.speed,
      loop: c.loop,
      clock: d.clock,
    }),
  static: (c, d) =>
    new StaticProvider({
      intensity: c.intensity,
      unit: c.unit,
      kind: c.kind,
      region: c.region ?? 'static',
      clock: d.clock,
    }),
  co2js: (c, d) => new Co2js({ region: c.region ?? 'WORLD', kind: c.kind, clock: d.clock }),
};

export const PROVIDER_NAMES = Object.keys(FACTORIES) as CarbonConfig['provider'][];

/** Validates a `carbon:` block; errors list every issue and, for a bad `provider`, the known names. */
export function parseCarbonConfig(input: unknown): CarbonConfig {
  const result = carbonConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = toIssues(result.error)
    .map((i) => `${i.path || '(root)'}: ${i.message}`)
    .join('; ');
  const provider = (input as { provider?: unknown } | null)?.provider;
  throw new CarbonError(
    String(provider ?? 'carbon'),
    'config',
    `${issues} (providers: ${PROVIDER_NAMES.join(', ')})`,
  );
}

/**
 * A guarded provider for a validated config (`parseCarbonConfig`, or the daemon's config file):
 * durations are already milliseconds and are not parsed again.
 */
export function buildProvider(config: CarbonConfig, deps: ProviderDeps): GuardedProvider {
  const make = FACTORIES[config.provider] as Factory<typeof config.provider>;
  return new GuardedProvider(make(config as never, deps), {
    retries: config.retries,
    baseDelayMs: DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: DEFAULT_RETRY.maxDelayMs,
    staleAfterMs: config.stale_after,
    sleep: deps.sleep ?? realSleep,
    random: deps.random ?? Math.random,
    clock: deps.clock,
    logger: deps.logger,
    onError: deps.onError,
  });
}
