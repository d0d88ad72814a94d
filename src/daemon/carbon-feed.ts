/**
 * The daemon's view of carbon data: polls a guarded provider (retries, checks, last known good)
 * and keeps the reading in use with its age, so the policy and `/v1/status` can ask at any time.
 * A poll never throws: a failure is kept as `lastError` (it was counted and logged by the guard).
 */

import type { CarbonConfig } from '../carbon/config.js';
import { buildProvider, type ProviderDeps } from '../carbon/factory.js';
import type { GuardedProvider } from '../carbon/guarded-provider.js';
import type { Reading } from '../carbon/reading.js';

export interface FeedState {
  readonly reading: Reading | undefined;
  readonly ageSeconds: number | undefined;
  readonly stale: boolean;
  readonly lastError: { readonly message: string; readonly at: Date } | undefined;
}

export class CarbonFeed {
  readonly provider: GuardedProvider;
  private reading: Reading | undefined;
  private lastError: FeedState['lastError'];

  constructor(
    config: CarbonConfig,
    private readonly deps: ProviderDeps,
    private readonly staleAfterMs: number,
  ) {
    this.provider = buildProvider(config, deps);
  }

  async poll(): Promise<void> {
    try {
      this.reading = await this.provider.current();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = { message: (error as Error).message, at: this.deps.clock() };
      this.deps.logger.warn('carbon data unavailable', {
        provider: this.provider.name,
        error: (error as Error).message,
      });
    }
  }

  state(now: Date): FeedState {
    const r = this.reading;
    const ageSeconds = r ? Math.max(0, (now.getTime() - r.time.getTime()) / 1000) : undefined;
    return {
      reading: r,
      ageSeconds,
      stale: ageSeconds === undefined || ageSeconds * 1000 > this.staleAfterMs,
      lastError: this.lastError,
    };
  }
}
