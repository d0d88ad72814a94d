import { strict as assert } from 'node:assert';
import { Registry } from 'prom-client';
import { type Control, HttpServer } from '../../src/daemon/server.js';

describe('daemon/server', () => {
  const errors: Array<{ error: unknown; request: { method: string; path: string } }> = [];
  const overrides: Array<[number, number]> = [];
  const control: Control = {
    status: () => {
      throw new RangeError('Invalid time value');
    },
    decision: () => ({ rho: 1 }),
    reportSvg: () => '<svg xmlns="http://www.w3.org/2000/svg"/>',
    ready: () => ({ ready: true, why: 'test' }),
    pause() {},
    resume() {},
    overrideRho: (rho, ttl) => {
      overrides.push([rho, ttl]);
      return { rho };
    },
  };
  const server = new HttpServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    control,
    token: () => 'tok-0123456789',
    onError: (error, request) => errors.push({ error, request }),
  });
  let url: string;
  before(async () => {
    const a = await server.listen();
    url = `http://127.0.0.1:${a.port}`;
  });
  after(() => server.close());

  it('answers 500 for a handler that throws, reports it, and keeps serving', async () => {
    const res = await fetch(`${url}/v1/status?x=1`);
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: 'internal error; see the daemon log' });
    assert.equal(errors.length, 1);
    assert.deepEqual(errors[0]!.request, { method: 'GET', path: '/v1/status' });
    assert.match(String(errors[0]!.error), /RangeError: Invalid time value/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });

  it('refuses an out-of-bounds override with 400 before the control sees it', async () => {
    const res = await fetch(`${url}/v1/rho`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok-0123456789' },
      body: '{"rho": 0.7, "ttl_seconds": 1e20}',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: 'ttl_seconds must be a number in (0, 604800] (7 days), got 100000000000000000000',
    });
    assert.deepEqual(overrides, []);
  });
});
