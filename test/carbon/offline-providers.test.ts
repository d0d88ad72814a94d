import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import type { CarbonConfigInput } from '../../src/carbon/config.js';
import { countingErrors } from '../../src/carbon/errors.js';
import { buildProvider, type ProviderDeps, parseCarbonConfig } from '../../src/carbon/factory.js';
import { backoffMs } from '../../src/carbon/retry.js';
import { parseTrace, TraceError } from '../../src/carbon/trace-file.js';
import { parseDurationMs } from '../../src/config/duration.js';

const DAY = fileURLToPath(new URL('../../config/traces/uk-day.csv', import.meta.url));
const T0 = new Date('2026-05-01T00:00:00Z');

function deps(clock: { now: Date }): ProviderDeps {
  return {
    env: {},
    clock: () => clock.now,
    logger: { warn() {}, info() {} },
    onError: countingErrors().count,
    sleep: async () => {},
    random: () => 0.5,
  };
}

const build = (input: CarbonConfigInput, d: ProviderDeps) => buildProvider(parseCarbonConfig(input), d);

describe('carbon/trace, static and co2js', () => {
  it('replays a day of half hours 48× faster, mapping trace times to the wall clock', async () => {
    const clock = { now: T0 };
    const p = build({ provider: 'trace', file: DAY, speed: 48 }, deps(clock));
    assert.equal((await p.current()).intensity, 171);
    clock.now = new Date(T0.getTime() + 13 * 60_000 + 10_000);
    const r = await p.forecast!(1 / 60);
    assert.equal(r.intensity, 143, 'after 13 min 10 s the replay is at 10:32, in the 10:30 period');
    assert.equal(r.time.toISOString(), new Date(T0.getTime() + 13 * 60_000 + 7_500).toISOString());
    assert.deepEqual(
      r.forecast?.map((p) => p.intensity),
      [134],
    );
    clock.now = new Date(T0.getTime() + 30 * 60_000 + 10_000);
    assert.equal((await p.current()).intensity, 160, 'it loops after the last point');
  });

  it('reports the end of a trace that does not loop', async () => {
    const clock = { now: T0 };
    const p = build({ provider: 'trace', file: DAY, speed: 3600, loop: false }, deps(clock));
    clock.now = new Date(T0.getTime() + 60_000);
    await assert.rejects(p.current(), /trace: no data: the trace ended at 2026-04-14T23:30:00.000Z/);
  });

  it('parses JSON traces and rejects times that do not increase, naming the line', () => {
    const json = parseTrace(
      '[{"time":"2026-01-01T00:00Z","intensity":100},{"time":"2026-01-01T01:00Z","intensity":"90"}]',
      'x.json',
    );
    assert.deepEqual(
      json.points.map((p) => p.intensity),
      [100, 90],
    );
    assert.throws(
      () => parseTrace('time,intensity\n2026-01-01T01:00Z,1\n2026-01-01T00:00Z,2\n', 't.csv'),
      (e: unknown) => e instanceof TraceError && /t.csv: point 2: times must increase/.test(e.message),
    );
    assert.throws(
      () => parseTrace('time,intensity\n2026-01-01T01:00Z,-1\n', 't.csv'),
      /t.csv:2: intensity must be a number ≥ 0/,
    );
  });

  it('serves a static value and a CO2.js annual country average', async () => {
    const clock = { now: T0 };
    assert.equal((await build({ provider: 'static', intensity: 123 }, deps(clock)).current()).intensity, 123);
    const gb = await build({ provider: 'co2js', region: 'gbr' }, deps(clock)).current();
    assert.equal(gb.intensity, 215.79);
    assert.equal(gb.region, 'GBR');
    assert.throws(
      () => build({ provider: 'co2js', region: 'XX' }, deps(clock)),
      /no average intensity for 'XX'/,
    );
  });

  it('lists the known providers for an unknown name', () => {
    assert.throws(
      () => build({ provider: 'nope' } as never, deps({ now: T0 })),
      /providers: uk-carbon-intensity, electricitymaps, watttime, carbon-aware-sdk, trace, static, co2js/,
    );
  });

  it('backs off exponentially with full jitter, capped, and never under Retry-After', () => {
    const o = { baseDelayMs: 1000, maxDelayMs: 30_000, random: () => 0.999 };
    assert.deepEqual(
      [0, 1, 2, 5, 9].map((n) => Math.round(backoffMs(n, undefined, o)!)),
      [999, 1998, 3996, 29970, 29970],
    );
    assert.equal(backoffMs(0, 20_000, o), 20_000);
    assert.equal(backoffMs(0, 31_000, o), undefined);
  });

  it('reads durations', () => {
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('15 minutes'), undefined);
  });
});
