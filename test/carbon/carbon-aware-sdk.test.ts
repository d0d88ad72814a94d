import { strict as assert } from 'node:assert';
import { harness, providerContract, sample } from './provider-contract.js';

const spec = {
  provider: 'carbon-aware-sdk',
  routes: { '/emissions/bylocation': { body: sample('casdk-bylocation.json') } },
  currentPath: '/emissions/bylocation',
  now: new Date('2022-05-17T20:50:00Z'),
  expected: { intensity: 405.91, time: '2022-05-17T20:45:00.000Z', unit: 'gCO2eq/kWh', kind: 'average' },
  wrongTypes: [{ location: 'eastus', time: '2022-05-17T20:45:00+00:00', rating: '405.91' }],
  config: (url: string) => ({
    provider: 'carbon-aware-sdk' as const,
    region: 'eastus',
    base_url: url,
    timeout: '300ms',
  }),
};

describe('carbon/carbon-aware-sdk', () => {
  providerContract(spec);

  describe('requests and pitfalls', () => {
    const h = harness(spec);
    before(() => h.server.start());
    after(() => h.server.stop());

    it('asks for the last two hours of the location', async () => {
      h.server.routes = new Map(Object.entries(spec.routes));
      await h.build().current();
      const q = h.server.requests[0]!.query;
      assert.equal(q.get('location'), 'eastus');
      assert.equal(q.get('time'), '2022-05-17T18:50:00.000Z');
      assert.equal(q.get('toTime'), '2022-05-17T20:50:00.000Z');
    });

    it('reports 204 No Content as no data', async () => {
      h.server.routes.set(spec.currentPath, { status: 204 });
      assert.equal((await h.attempt(h.build()))?.reason, 'no_data');
    });

    it('skips rating -1, the SDK’s stand-in for a null upstream value', async () => {
      const [a, b] = sample('casdk-bylocation.json') as object[];
      h.server.routes.set(spec.currentPath, { body: [a, { ...b, rating: -1 }] });
      assert.equal((await h.build().current()).intensity, 412.37);
    });

    it('reads the recorded current forecast', async () => {
      h.server.routes.set('/emissions/forecasts/current', { body: sample('casdk-forecast-current.json') });
      h.clock.now = new Date('2022-07-19T14:01:00Z');
      const r = await h.build({ ...spec.config(h.server.url), region: 'northeurope' }).forecast!(1);
      assert.equal(r.intensity, 532.02293146);
      assert.deepEqual(
        r.forecast?.map((p) => p.intensity),
        [510.4, 488.7, 470.2, 455.8, 448.4451043375, 452.1],
      );
    });
  });
});
