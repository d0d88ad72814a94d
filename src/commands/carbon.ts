/**
 * `greentrainer carbon`: the current reading of a provider, and its forecast where it has one.
 * It never runs longer than `timeout` × attempts plus the backoffs between them.
 */
import { countingErrors } from '../carbon/errors.js';
import { buildProvider, parseCarbonConfig } from '../carbon/factory.js';
import type { Logger } from '../carbon/provider.js';
import { type Reading, readingToJson } from '../carbon/reading.js';
import { formatTable } from './table.js';

export interface CarbonOptions {
  readonly provider: string;
  readonly region?: string;
  readonly baseUrl?: string;
  readonly tokenEnv?: string;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
  readonly signal?: string;
  readonly file?: string;
  readonly speed?: number;
  readonly intensity?: number;
  /** Deadline of one request, e.g. `10s`. */
  readonly timeout?: string;
  readonly retries?: number;
  readonly hours: number;
  readonly json: boolean;
}

/** Command-line options → a `carbon:` config block, leaving out what was not given. */
export function carbonConfigFromOptions(o: CarbonOptions): Record<string, unknown> {
  const entries = {
    provider: o.provider,
    region: o.region,
    base_url: o.baseUrl,
    token_env: o.tokenEnv,
    token_file: o.tokenFile,
    username: o.username,
    password_env: o.passwordEnv,
    password_file: o.passwordFile,
    signal: o.signal,
    file: o.file,
    speed: o.speed,
    intensity: o.intensity,
    timeout: o.timeout,
    retries: o.retries,
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

export async function runCarbon(o: CarbonOptions, env: NodeJS.ProcessEnv, logger: Logger): Promise<string> {
  const errors = countingErrors();
  const provider = buildProvider(parseCarbonConfig(carbonConfigFromOptions(o)), {
    env,
    clock: () => new Date(),
    logger,
    onError: errors.count,
  });
  const reading =
    provider.forecast && o.hours > 0 ? await provider.forecast(o.hours) : await provider.current();
  if (o.json)
    return JSON.stringify({ ...readingToJson(reading), errors: Object.fromEntries(errors.counts) }, null, 2);
  return formatReading(reading);
}

export function formatReading(r: Reading): string {
  const lines = [
    `${r.provider} ${r.region}: ${r.intensity.toFixed(1)} ${r.unit} (${r.kind}) for the interval from ${r.time.toISOString()}` +
      (r.stale ? ' — STALE' : ''),
  ];
  if (r.forecast && r.forecast.length > 0) {
    lines.push(
      '',
      formatTable(
        ['forecast', r.unit],
        r.forecast.map((p) => [p.time.toISOString().slice(0, 16).replace('T', ' '), p.intensity.toFixed(1)]),
        ['left', 'right'],
      ),
    );
  }
  return lines.join('\n');
}
