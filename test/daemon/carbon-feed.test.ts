import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingErrors } from '../../src/carbon/errors.js';
import { CarbonFeed } from '../../src/daemon/carbon-feed.js';
import { readDaemonConfig } from '../../src/daemon/config.js';
import { TestServer } from '../helpers/http-server.js';

describe('daemon/carbon-feed', () => {
  const server = new TestServer();
  before(() => server.start());
  after(() => server.stop());

  function feed(timeout: string) {
    const file = join(mkdtempSync(join(tmpdir(), 'gt-feed-')), 'daemon.yaml');
    writeFileSync(
      file,
      `carbon:\n  provider: uk-carbon-intensity\n  base_url: ${server.url}\n  timeout: ${timeout}\n  retries: 0\npolicy:\n  map: { type: steps, default: 0.9, steps: [[200, 0.6]] }\njob:\n  model: m\n  dataset: { path: d }\n  output: o\n`,
    );
    const c = readDaemonConfig(file);
    const errors = countingErrors();
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m), info() {} };
    const f = new CarbonFeed(
      c.carbon,
      { env: {}, clock: () => new Date(), logger, onError: errors.count },
      3600_000,
    );
    return { f, errors, warnings };
  }

  it("gives the daemon's provider the configured timeout in milliseconds (300ms is not 300 s)", async () => {
    server.routes.set('/intensity', { hang: true });
    const { f, errors } = feed('300ms');
    const t0 = Date.now();
    await f.poll();
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 1500, `the poll took ${took} ms`);
    assert.equal(errors.counts.get('uk-carbon-intensity/timeout'), 1);
    assert.equal(
      f.state(new Date()).lastError?.message,
      'uk-carbon-intensity: timeout: GET /intensity: no complete answer within 300 ms',
    );
  });

  it('ends an aborted poll at once, without counting or logging it as a failure', async () => {
    server.routes.set('/intensity', { hang: true });
    const { f, errors, warnings } = feed('30s');
    const abort = new AbortController();
    const t0 = Date.now();
    const poll = f.poll(abort.signal);
    setTimeout(() => abort.abort(), 100);
    await poll;
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    assert.equal(errors.counts.size, 0);
    assert.deepEqual(warnings, []);
    assert.equal(f.state(new Date()).lastError, undefined);
  });
});
