/**
 * The `carbon:` block of the daemon config and the provider it builds. Secrets come from an
 * environment variable or a file (systemd `LoadCredential=` puts them in $CREDENTIALS_DIRECTORY);
 * they never sit in the config itself.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { Duration } from '../policy/duration.js';
import type { CarbonProvider } from './provider.js';
import { StaticProvider } from './static.js';
import { readTrace, TraceProvider } from './trace.js';

export const PROVIDERS = ['trace', 'static'] as const;

export const CarbonConfig = z.strictObject({
  provider: z.enum(PROVIDERS).default('static'),
  region: z.string().optional(),
  /** node-cron expression (6 fields allow seconds). */
  poll: z.string().default('*/5 * * * *'),
  stale_after: Duration.prefault('1h'),
  retries: z.number().int().min(0).max(10).default(2),
  trace: z
    .strictObject({
      file: z.string(),
      /** Trace seconds per wall second (720: a day in two minutes). */
      speed: z.number().positive().default(1),
      loop: z.boolean().default(true),
    })
    .optional(),
  static: z.strictObject({ intensity: z.number().nonnegative() }).optional(),
});

export type CarbonConfig = z.output<typeof CarbonConfig>;

export class CarbonConfigError extends Error {
  override readonly name = 'CarbonConfigError';
}

/**
 * A secret from `env` or `file`. A relative file is looked up in $CREDENTIALS_DIRECTORY (systemd
 * `LoadCredential=`) when that is set, else next to the config file (`baseDir`).
 */
export function readSecret(
  s: { env?: string; file?: string },
  what: string,
  baseDir = '.',
): string | undefined {
  if (s.env && process.env[s.env]) return process.env[s.env]!.trim();
  if (s.file) {
    const dir = process.env.CREDENTIALS_DIRECTORY ?? baseDir;
    const path = isAbsolute(s.file) ? s.file : join(dir, s.file);
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new CarbonConfigError(
        `cannot read ${what} from ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
  }
  return undefined;
}

export function createProvider(c: CarbonConfig, baseDir: string): CarbonProvider {
  switch (c.provider) {
    case 'trace': {
      if (!c.trace) throw new CarbonConfigError('carbon.provider trace needs carbon.trace.file');
      const file = resolve(baseDir, c.trace.file);
      return new TraceProvider(readTrace(file), {
        speed: c.trace.speed,
        loop: c.trace.loop,
        region: c.region ?? 'trace',
      });
    }
    case 'static':
      return new StaticProvider(c.static?.intensity ?? 442, c.region ?? 'static');
  }
}
