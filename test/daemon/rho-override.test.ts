import { strict as assert } from 'node:assert';
import { parseRhoOverride } from '../../src/daemon/rho-override.js';

describe('daemon/rho-override', () => {
  it('accepts ρ in (0, 1] for up to 7 days, an hour by default', () => {
    assert.deepEqual(parseRhoOverride({ rho: 0.7, ttl_seconds: 604_800 }), { rho: 0.7, ttlSeconds: 604_800 });
    assert.deepEqual(parseRhoOverride({ rho: 1 }), { rho: 1, ttlSeconds: 3600 });
  });

  const cases: Array<[string, unknown, string]> = [
    [
      'a TTL past 7 days',
      { rho: 0.7, ttl_seconds: 1e20 },
      'ttl_seconds must be a number in (0, 604800] (7 days), got 100000000000000000000',
    ],
    [
      'an infinite TTL (1e400 in JSON)',
      JSON.parse('{"rho":0.7,"ttl_seconds":1e400}'),
      'ttl_seconds must be a number in (0, 604800] (7 days), got Infinity',
    ],
    [
      'a zero TTL',
      { rho: 0.7, ttl_seconds: 0 },
      'ttl_seconds must be a number in (0, 604800] (7 days), got 0',
    ],
    [
      'a TTL as a string',
      { rho: 0.7, ttl_seconds: '60' },
      'ttl_seconds must be a number in (0, 604800] (7 days), got "60"',
    ],
    ['ρ above 1', { rho: 7 }, 'rho must be a number in (0, 1], got 7'],
    ['ρ of 0', { rho: 0 }, 'rho must be a number in (0, 1], got 0'],
    ['no ρ', { ttl_seconds: 60 }, 'rho must be a number in (0, 1], got nothing'],
    ['ρ as null', { rho: null }, 'rho must be a number in (0, 1], got null'],
    ['a body that is not an object', [0.7], 'expected a JSON object {"rho": number, "ttl_seconds": number}'],
    ['no body (invalid JSON)', undefined, 'expected a JSON object {"rho": number, "ttl_seconds": number}'],
  ];
  for (const [what, body, error] of cases)
    it(`refuses ${what}`, () => assert.deepEqual(parseRhoOverride(body), { error }));
});
