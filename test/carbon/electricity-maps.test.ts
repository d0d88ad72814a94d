import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProvider, parseCarbonConfig } from '../../src/carbon/factory.js';
import { silentLogger } from '../../src/carbon/provider.js';
import { assertNoSecrets, harness, providerContract, sample } from './provider-contract.js';

const TOKEN = 'em-SECRET-token-7f3a9c';
const spec = {
  provider: 'electricitymaps',
  routes: { '/v3/carbon-intensity/latest': { body: sample('em-latest.json') } },
  currentPath: '/v3/carbon-intensity/latest',
  now: new Date('2024-03-06T19:10:00Z'),
  expected: { intensity: 216, time: '2024-03-06T19:00:00.000Z', unit: 'gCO2eq/kWh', kind: 'average' },
  wrongTypes: { ...(sample('em-latest.json') as object), carbonIntensity: '216' },
  config: (url: string) => ({
    provider: 'electricitymaps' as const,
    region: 'US-CAR-DUK',
    base_url: `${url}/v3`,
    timeout: '300ms',
    token_env: 'EM_TOKEN',
  }),
  env: { EM_TOKEN: TOKEN },
  secrets: [TOKEN],
};

describe('carbon/electricity-maps', () => {
  providerContract(spec);

  describe('requests and pitfalls', () => {
    const h = harness(spec);
    before(() => h.server.start());
    after(() => h.server.stop());
    beforeEach(() => {
      h.server.routes = new Map(Object.entries(spec.routes));
      h.server.requests.length = 0;
    });

    it('sends the token in the auth-token header and disables the IP fallback', async () => {
      await h.build().current();
      const [request] = h.server.requests;
      assert.equal(request?.headers['auth-token'], TOKEN);
      assert.equal(request?.query.get('zone'), 'US-CAR-DUK');
      assert.equal(request?.query.get('shouldUseFallbackCallerLookup'), 'false');
    });

    it('reads the token from a file (systemd credentials)', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'gt-em-')), 'token');
      writeFileSync(file, `${TOKEN}\n`);
      const { token_env: _, ...config } = spec.config(h.server.url);
      await h.build({ ...config, token_file: file }).current();
      assert.equal(h.server.requests[0]?.headers['auth-token'], TOKEN);
    });

    it("hands the token to the secret sink (the daemon's redactor)", () => {
      const seen: string[] = [];
      buildProvider(parseCarbonConfig(spec.config(h.server.url)), {
        env: spec.env,
        clock: () => spec.now,
        logger: silentLogger,
        onError() {},
        secrets: { add: (v) => void (v && seen.push(v)) },
      });
      assert.deepEqual(seen, [TOKEN]);
    });

    it('names the missing variable, not a value, when the token is not set', () => {
      assert.throws(
        () => h.build({ ...spec.config(h.server.url), token_env: 'NOPE' }),
        /token: NOPE is not set/,
      );
    });

    it('rejects an answer for another zone (the IP fallback pitfall)', async () => {
      h.server.routes.set(spec.currentPath, {
        body: { ...(sample('em-latest.json') as object), zone: 'DE' },
      });
      const e = await h.attempt(h.build());
      assert.equal(e?.reason, 'bad_shape');
      assert.match(e!.message, /asked for zone US-CAR-DUK, got DE/);
    });

    it('reports a null intensity as no data, never as 0', async () => {
      h.server.routes.set(spec.currentPath, {
        body: { ...(sample('em-latest.json') as object), carbonIntensity: null },
      });
      assert.equal((await h.attempt(h.build()))?.reason, 'no_data');
    });

    it('surfaces the upstream message of a 401', async () => {
      h.server.routes.set(spec.currentPath, { status: 401, body: sample('em-error-401.json') });
      const e = await h.attempt(h.build());
      assert.match(
        e!.message,
        /electricitymaps: auth: GET \/carbon-intensity\/latest: HTTP 401: The provided token is invalid/,
      );
    });

    it('reads the recorded 48 h forecast', async () => {
      h.server.routes.set(spec.currentPath, {
        body: { zone: 'DE', carbonIntensity: 557, datetime: '2023-05-02T20:00:00.000Z' },
      });
      h.server.routes.set('/v3/carbon-intensity/forecast', { body: sample('em-forecast.json') });
      h.clock.now = new Date('2023-05-02T20:05:00Z');
      const r = await h.build({ ...spec.config(h.server.url), region: 'DE' }).forecast!(48);
      assert.equal(r.intensity, 557);
      assert.equal(r.forecast?.length, 47);
      assert.equal(r.forecast?.[0]?.intensity, 552);
      assert.equal(
        h.server.requests.find((q) => q.path.endsWith('forecast'))?.query.get('horizonHours'),
        '48',
      );
    });

    it('degrades to the latest reading, with a warning, when the plan has no forecast (403)', async () => {
      h.server.routes.set('/v3/carbon-intensity/forecast', {
        status: 403,
        body: { message: `token ${TOKEN} has no access to /forecast` },
      });
      h.clock.now = spec.now;
      const r = await h.build().forecast!(24);
      assert.equal(r.intensity, 216);
      assert.equal(r.forecast, undefined);
      const warning = h.transcript.find((l) => l.includes('without a forecast'));
      assert.match(
        warning ?? '',
        /^warn electricitymaps: auth: GET \/carbon-intensity\/forecast: HTTP 403: token \[redacted\] has no access to \/forecast; using the latest reading without a forecast/,
      );
    });

    it('never shows the token in any of these logs or errors', () => assertNoSecrets(h, [TOKEN]));
  });
});
