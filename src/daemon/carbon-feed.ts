/**
 * The daemon's view of carbon data: polls a guarded provider (retries, checks, last known good)
 * and keeps the reading in use with its age, so the policy and `/v1/status` can ask at any time.
 * A poll never throws: a failure was counted by the guard and is logged here once, and kept as
 * `lastError` while it lasts (also when the last good reading is served). An aborted poll (the
 * daemon stops or reloads) ends quietly.
 */

import type { CarbonConfig } from '../carbon/config.js';
import { buildProvider, type ProviderDeps } from '../carbon/factory.js';
import type { GuardedProvider } from '../carbon/guarded-provider.js';
import type { Reading } from '../carbon/reading.js';

export interface FeedState {
  readonly reading: Reading | undefined;
  readonly ageSeconds: number | undefined;
  /** With no reading yet: how long the feed has been waiting for one. */
  readonly waitingSeconds: number | undefined;
  readonly stale: boolean;
  readonly lastError: { readonly message: string; readonly at: Date } | undefined;
}

export class CarbonFeed {
  readonly provider: GuardedProvider;
  private reading: Reading | undefined;
  private readonly startedAt: Date;

  constructor(
    config: CarbonConfig,
    private readonly deps: ProviderDeps,
    private readonly staleAfterMs: number,
  ) {
    this.provider = buildProvider(config, deps);
    this.startedAt = deps.clock();
  }

  async poll(signal?: AbortSignal): Promise<void> {
    try {
      this.reading = await this.provider.current(signal);
    } catch (error) {
      if (signal?.aborted) return;
      this.deps.logger.warn('carbon data unavailable', {
        provider: this.provider.name,
        error: (error as Error).message,
      });
    }
  }

  state(now: Date): FeedState {
    const r = this.reading;
    const ageSeconds = r ? Math.max(0, (now.getTime() - r.time.getTime()) / 1000) : undefined;
    const e = this.provider.lastError;
    return {
      reading: r,
      ageSeconds,
      waitingSeconds: r ? undefined : Math.max(0, (now.getTime() - this.startedAt.getTime()) / 1000),
      stale: ageSeconds === undefined || ageSeconds * 1000 > this.staleAfterMs,
      lastError: e ? { message: e.error.message, at: e.at } : undefined,
    };
  }
}
