import { strict as assert } from 'node:assert';
import { buildProvider, parseCarbonConfig } from '../../src/carbon/factory.js';
import { silentLogger } from '../../src/carbon/provider.js';
import type { RecordedRequest } from '../helpers/http-server.js';
import { assertNoSecrets, harness, providerContract, sample } from './provider-contract.js';

const PASSWORD = 'wt-Pa55word-SECRET';
const LOGIN = sample('wt-login.json') as { token: string };
const spec = {
  provider: 'watttime',
  routes: { '/login': { body: LOGIN }, '/v3/signal-index': { body: sample('wt-signal-index.json') } },
  currentPath: '/v3/signal-index',
  now: new Date('2024-06-18T18:42:00Z'),
  expected: { intensity: 96, time: '2024-06-18T18:40:00.000Z', unit: 'percentile', kind: 'marginal' },
  wrongTypes: {
    data: [{ point_time: '2024-06-18T18:40:00+00:00', value: '96.0' }],
    meta: { region: 'PSCO', units: 'percentile' },
  },
  config: (url: string) => ({
    provider: 'watttime' as const,
    region: 'PSCO',
    username: 'greentrainer',
    password_env: 'WT_PASSWORD',
    base_url: url,
    timeout: '300ms',
  }),
  env: { WT_PASSWORD: PASSWORD, WT_WRONG: 'not-the-password' },
  secrets: [PASSWORD, LOGIN.token],
  logsIn: true,
};

/** Accepts only the Basic credentials of the spec, and issues numbered tokens. */
function loginRoute(issued: string[]) {
  return (r: RecordedRequest) => {
    const expected = `Basic ${Buffer.from(`greentrainer:${PASSWORD}`).toString('base64')}`;
    if (r.headers.authorization !== expected)
      return { status: 403, body: '<html><body>403 Forbidden</body></html>' };
    issued.push(`token-${issued.length + 1}`);
    return { body: { token: issued.at(-1) } };
  };
}

describe('carbon/watttime', () => {
  providerContract(spec);

  describe('tokens, units and forecasts', () => {
    const h = harness(spec);
    let issued: string[];
    before(() => h.server.start());
    after(() => h.server.stop());
    beforeEach(() => {
      issued = [];
      h.server.routes = new Map(Object.entries(spec.routes));
      h.server.routes.set('/login', loginRoute(issued));
      h.server.requests.length = 0;
      h.clock.now = spec.now;
    });

    it('logs in once with Basic auth and reuses the bearer token', async () => {
      const p = h.build();
      await p.current();
      await p.current();
      assert.equal(h.server.count('/login'), 1);
      assert.deepEqual(
        h.server.requests.filter((r) => r.path === '/v3/signal-index').map((r) => r.headers.authorization),
        ['Bearer token-1', 'Bearer token-1'],
      );
    });

    it('logs in again when the 29-minute token lifetime has passed', async () => {
      const p = h.build();
      await p.current();
      h.clock.now = new Date(spec.now.getTime() + 29 * 60_000);
      h.server.routes.set('/v3/signal-index', {
        body: {
          ...(sample('wt-signal-index.json') as object),
          data: [{ point_time: '2024-06-18T19:10:00+00:00', value: 50 }],
        },
      });
      assert.equal((await p.current()).intensity, 50);
      assert.equal(h.server.count('/login'), 2);
    });

    it('renews an expired token once on 401 and retries the call', async () => {
      const p = h.build();
      await p.current();
      h.server.routes.set('/v3/signal-index', (r) =>
        r.headers.authorization === 'Bearer token-1'
          ? { status: 401, body: { error: 'token expired' } }
          : { body: sample('wt-signal-index.json') },
      );
      assert.equal((await p.current()).intensity, 96);
      assert.equal(h.server.count('/login'), 2);
      assert.equal(h.server.count('/v3/signal-index'), 3);
      assert.equal(h.counts.size, 0, 'a renewed token is not a failed poll');
    });

    it('fails a bad password clearly, once per poll, without a retry storm', async () => {
      const p = h.build({ ...spec.config(h.server.url), password_env: 'WT_WRONG' });
      for (let poll = 0; poll < 5; poll++) {
        const e = await h.attempt(p);
        assert.equal(e?.reason, 'auth');
        assert.equal(
          e?.message,
          'watttime: auth: login as greentrainer refused: check the username and password',
        );
      }
      assert.equal(h.server.count('/login'), 5);
      assert.equal(h.server.count('/v3/signal-index'), 0);
      assert.equal(h.counts.get('watttime/auth'), 5);
    });

    it("hands the password and every bearer token to the secret sink (the daemon's redactor)", async () => {
      const seen: string[] = [];
      const config = parseCarbonConfig(spec.config(h.server.url));
      const p = buildProvider(config, {
        env: spec.env,
        clock: () => h.clock.now,
        logger: silentLogger,
        onError() {},
        secrets: { add: (v) => void (v && seen.push(v)) },
      });
      await p.current();
      assert.deepEqual(seen, [PASSWORD, 'token-1']);
    });

    it('logs in at most once per poll when the login endpoint fails', async () => {
      h.server.routes.set('/login', { status: 503, body: { message: 'maintenance' } });
      const p = h.build();
      for (let poll = 0; poll < 3; poll++) {
        const e = await h.attempt(p);
        assert.equal(e?.message, 'watttime: server: GET /login: HTTP 503: maintenance');
      }
      assert.equal(h.server.count('/login'), 3);
      assert.equal(h.counts.get('watttime/server'), 3);
    });

    it('does not log in again when a fresh token is refused (no login loop)', async () => {
      h.server.routes.set('/v3/signal-index', { status: 403, body: sample('wt-error-403-scope.json') });
      const e = await h.attempt(h.build());
      assert.equal(e?.reason, 'auth');
      assert.match(e!.message, /Invalid scope/);
      assert.equal(h.server.count('/login'), 1);
    });

    it('converts the MOER forecast from lbs/MWh to g/kWh', async () => {
      h.server.routes.set('/v3/forecast', { body: sample('wt-forecast.json') });
      h.server.routes.set('/login', { body: LOGIN });
      const p = h.build({ ...spec.config(h.server.url), region: 'CAISO_NORTH', signal: 'co2_moer' });
      const r = await p.forecast!(24);
      assert.equal(r.unit, 'gCO2eq/kWh');
      assert.ok(Math.abs(r.intensity - 780.7 * 0.45359237) < 1e-9);
      assert.equal(r.forecast?.length, 287);
      assert.equal(h.server.requests.at(-1)?.query.get('horizon_hours'), '24');
      assert.equal(h.server.requests.at(-1)?.headers.authorization, `Bearer ${LOGIN.token}`);
    });

    it('has no forecast for the signal index, which is a percentile and not g/kWh', () => {
      assert.equal(h.build().forecast, undefined);
    });

    it('never shows the password or the token in any of these logs or errors', () =>
      assertNoSecrets(h, [PASSWORD, LOGIN.token]));
  });
});
