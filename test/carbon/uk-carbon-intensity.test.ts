import { strict as assert } from 'node:assert';
import { harness, providerContract, sample } from './provider-contract.js';

const spec = {
  provider: 'uk-carbon-intensity',
  routes: { '/intensity': { body: sample('uk-intensity.json') } },
  currentPath: '/intensity',
  now: new Date('2018-01-20T12:40:00Z'),
  expected: { intensity: 263, time: '2018-01-20T12:00:00.000Z', unit: 'gCO2eq/kWh', kind: 'average' },
  wrongTypes: {
    data: [
      { from: '2018-01-20T12:00Z', to: '2018-01-20T12:30Z', intensity: { forecast: '266', actual: '263' } },
    ],
  },
  config: (url: string) => ({ provider: 'uk-carbon-intensity' as const, base_url: url, timeout: '300ms' }),
};

describe('carbon/uk-carbon-intensity', () => {
  providerContract(spec);

  describe('regions and forecasts', () => {
    const h = harness(spec);
    before(() => h.server.start());
    after(() => h.server.stop());
    const period = (from: string, to: string, forecast: number | null, actual?: number | null) => ({
      from,
      to,
      intensity: { forecast, ...(actual === undefined ? {} : { actual }), index: 'moderate' },
    });

    it('reads a region by id, where data is an array of regions, and keeps forecast 0 as a value', async () => {
      const regions = sample('uk-regional.json') as {
        data: [{ from: string; to: string; regions: object[] }];
      };
      const north = regions.data[0].regions[0]!;
      h.server.routes.set('/regional/regionid/1', {
        body: { data: [{ ...north, data: [period('2025-10-23T00:00Z', '2025-10-23T00:30Z', 0)] }] },
      });
      h.clock.now = new Date('2025-10-23T00:10:00Z');
      const r = await h.build({ ...spec.config(h.server.url), region: '1' }).current();
      assert.equal(r.intensity, 0);
      assert.equal(r.region, '1');
    });

    it('reads a regional forecast whose data is an object (pitfall P6) and drops periods already over', async () => {
      h.server.routes.set('/regional/intensity/2025-10-23T00:10Z/fw24h/postcode/BS16', {
        body: {
          data: {
            regionid: 11,
            shortname: 'South West England',
            postcode: 'BS16',
            data: [
              period('2025-10-22T23:30Z', '2025-10-23T00:00Z', 162),
              period('2025-10-23T00:00Z', '2025-10-23T00:30Z', 150),
              period('2025-10-23T00:30Z', '2025-10-23T01:00Z', 140),
            ],
          },
        },
      });
      h.clock.now = new Date('2025-10-23T00:10:00Z');
      const r = await h.build({ ...spec.config(h.server.url), region: 'bs16' }).forecast!(24);
      assert.equal(r.intensity, 150);
      assert.deepEqual(
        r.forecast?.map((p) => p.intensity),
        [150, 140],
      );
    });

    it('reads the national 24 h forecast from the recorded response, starting at the current period', async () => {
      h.server.routes.set('/intensity/2020-05-21T21:00Z/fw24h', { body: sample('uk-fw24h.json') });
      h.clock.now = new Date('2020-05-21T21:00:00Z');
      const r = await h.build().forecast!(24);
      assert.equal(r.time.toISOString(), '2020-05-21T21:00:00.000Z');
      assert.equal(r.intensity, 177);
      assert.equal(r.forecast?.length, 48);
      assert.equal(r.forecast?.at(-1)?.intensity, 68);
    });

    it('reads a null actual as missing, using the forecast, and fails when both are null', async () => {
      h.clock.now = new Date('2018-01-20T12:40:00Z');
      h.server.routes.set('/intensity', {
        body: { data: [period('2018-01-20T12:00Z', '2018-01-20T12:30Z', 250, null)] },
      });
      assert.equal((await h.build().current()).intensity, 250);
      h.server.routes.set('/intensity', {
        body: { data: [period('2018-01-20T12:00Z', '2018-01-20T12:30Z', null, null)] },
      });
      assert.equal((await h.attempt(h.build()))?.reason, 'no_data');
    });

    it('rejects a negative intensity as implausible without retrying', async () => {
      h.server.routes.set('/intensity', {
        body: { data: [period('2018-01-20T12:00Z', '2018-01-20T12:30Z', -5)] },
      });
      assert.equal((await h.attempt(h.build()))?.reason, 'implausible');
      assert.equal(h.counts.get('uk-carbon-intensity/implausible'), 1);
    });

    it('rejects a timestamp far in the future', async () => {
      h.server.routes.set('/intensity', {
        body: { data: [period('2018-01-22T12:00Z', '2018-01-22T12:30Z', 100)] },
      });
      const e = await h.attempt(h.build());
      assert.equal(e?.reason, 'implausible');
      assert.match(e!.message, /in the future/);
    });
  });
});
