import { strict as assert } from 'node:assert';
import type { CarbonProvider } from '../../src/carbon/provider.js';
import type { Reading } from '../../src/carbon/reading.js';
import { ForecastFeed } from '../../src/daemon/forecast-feed.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const reading = (forecast?: Reading['forecast']): Reading => ({
  time: NOW,
  intensity: 200,
  unit: 'gCO2eq/kWh',
  region: 'r',
  provider: 'p',
  kind: 'average',
  ...(forecast ? { forecast } : {}),
});

function logger() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m), info: () => {} };
}

describe('daemon/forecast-feed', () => {
  it('plans on persistence, said once, when the provider publishes no forecast', async () => {
    const log = logger();
    const provider: CarbonProvider = { name: 'co2js', region: 'GBR', current: async () => reading() };
    const feed = new ForecastFeed(provider, { every: 1800_000, hours: 48 }, log, () => NOW);
    await feed.refresh();
    await feed.refresh();
    assert.deepEqual(feed.ahead(NOW), []);
    assert.equal(feed.horizonSeconds(NOW), 0);
    assert.deepEqual(log.warnings, [
      'co2js publishes no forecast: planning on the current intensity for the whole horizon',
    ]);
  });

  it('keeps the last good forecast when a later fetch fails or comes back empty', async () => {
    const log = logger();
    const points = [1, 2, 3].map((h) => ({
      time: new Date(NOW.getTime() + h * 3600_000),
      intensity: 100 * h,
    }));
    const answers: Array<() => Reading> = [
      () => reading(points),
      () => {
        throw new Error('timeout after 10000 ms');
      },
      () => reading(),
    ];
    const provider: CarbonProvider = {
      name: 'uk',
      region: 'national',
      current: async () => reading(),
      forecast: async () => answers.shift()!(),
    };
    const feed = new ForecastFeed(provider, { every: 1800_000, hours: 48 }, log, () => NOW);
    assert.ok(feed.due(NOW));
    await feed.refresh();
    assert.equal(feed.horizonSeconds(NOW), 3 * 3600);
    assert.equal(feed.due(NOW), false);
    assert.ok(feed.due(new Date(NOW.getTime() + 1800_000)));
    await feed.refresh();
    await feed.refresh();
    assert.equal(feed.ahead(NOW).length, 3);
    assert.deepEqual(log.warnings, [
      'forecast failed (timeout after 10000 ms); keeping the one from 2026-03-01T12:00:00.000Z',
      'forecast failed (no forecast points came back); keeping the one from 2026-03-01T12:00:00.000Z',
    ]);
    // Past its points, the forecast reaches nothing: horizon 0.
    assert.equal(feed.horizonSeconds(new Date(NOW.getTime() + 4 * 3600_000)), 0);
  });
});
