/**
 * The contract every HTTP provider meets, run against a real server on 127.0.0.1: the recorded
 * response gives the documented reading, and each failure mode (timeout, refused, 401, 404, 429,
 * 500, truncated JSON, wrong types, HTML, stale timestamps) gives a typed error whose reason the
 * error counter records; after one good reading, failures serve it as last known good with its age.
 * Every log line and error is kept, and the suite ends by checking no secret appears in them.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import type { CarbonConfigInput } from '../../src/carbon/config.js';
import { CarbonError, countingErrors } from '../../src/carbon/errors.js';
import { buildProvider, parseCarbonConfig } from '../../src/carbon/factory.js';
import type { GuardedProvider } from '../../src/carbon/guarded-provider.js';
import type { Logger } from '../../src/carbon/provider.js';
import { type RecordedRequest, type Route, refusedUrl, TestServer } from '../helpers/http-server.js';

export const SAMPLES = new URL('../fixtures/providers/', import.meta.url);
export const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(name, SAMPLES), 'utf8'));

export interface ContractSpec {
  readonly provider: string;
  /** Happy-path routes by path. */
  readonly routes: Record<string, Route>;
  /** The route `current()` reads its value from; the failure modes replace it. */
  readonly currentPath: string;
  /** A clock time shortly after the recorded reading. */
  readonly now: Date;
  readonly expected: { intensity: number; time: string; unit: string; kind: string };
  /** The recorded body with a field of the wrong type. */
  readonly wrongTypes: unknown;
  readonly config: (baseUrl: string) => CarbonConfigInput;
  readonly env?: Record<string, string>;
  /** Strings that must never appear in logs or errors. */
  readonly secrets?: readonly string[];
  /** The provider logs in before its data call; a failed login is not retried (one login a poll). */
  readonly logsIn?: boolean;
}

export interface Harness {
  server: TestServer;
  transcript: string[];
  sleeps: number[];
  counts: Map<string, number>;
  clock: { now: Date };
  build(config?: CarbonConfigInput): GuardedProvider;
  /** current(), recording the error (message, JSON, inspect) in the transcript. */
  attempt(p: GuardedProvider): Promise<CarbonError | undefined>;
}

export function harness(spec: ContractSpec): Harness {
  const h: Harness = {
    server: new TestServer(),
    transcript: [],
    sleeps: [],
    counts: new Map(),
    clock: { now: spec.now },
    build(config = spec.config(h.server.url)) {
      const errors = countingErrors();
      h.counts = errors.counts;
      const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
        h.transcript.push(`${level} ${message} ${inspect(meta)}`);
      const logger: Logger = { warn: log('warn'), info: log('info') };
      const p = buildProvider(parseCarbonConfig(config), {
        env: spec.env ?? {},
        clock: () => h.clock.now,
        logger,
        onError: errors.count,
        sleep: async (ms) => void h.sleeps.push(ms),
        random: () => 0.5,
      });
      h.transcript.push(inspect(p), JSON.stringify(config));
      return p;
    },
    async attempt(p) {
      try {
        const r = await p.current();
        h.transcript.push(inspect(r));
        return undefined;
      } catch (error) {
        h.transcript.push(String(error), inspect(error), JSON.stringify(error));
        assert.ok(error instanceof CarbonError, `expected a CarbonError, got ${inspect(error)}`);
        return error;
      }
    },
  };
  return h;
}

/** Every log line, error (message, JSON, inspect), reading and config the harness saw is free of `secrets`. */
export function assertNoSecrets(h: Harness, secrets: readonly string[]): void {
  const text = h.transcript.join('\n');
  assert.ok(text.length > 1000, 'the transcript holds the suite output');
  for (const secret of secrets) assert.ok(!text.includes(secret), `secret found: ${secret}`);
}

export function providerContract(spec: ContractSpec): Harness {
  const h = harness(spec);
  const fail = async (route: Route, reason: string, attempts: number) => {
    h.server.routes.set(spec.currentPath, route);
    const error = await h.attempt(h.build());
    assert.equal(error?.reason, reason, error?.message);
    assert.equal(h.counts.get(`${spec.provider}/${reason}`), attempts, inspect(h.counts));
    return error!;
  };

  describe('contract', () => {
    before(() => h.server.start());
    after(() => h.server.stop());
    beforeEach(() => {
      h.server.routes = new Map(Object.entries(spec.routes));
      h.server.requests.length = 0;
      h.sleeps.length = 0;
      h.clock.now = spec.now;
    });

    it('maps the recorded response to a reading', async () => {
      const r = await h.build().current();
      assert.equal(r.provider, spec.provider);
      assert.ok(Math.abs(r.intensity - spec.expected.intensity) < 1e-9, `${r.intensity}`);
      assert.equal(r.time.toISOString(), spec.expected.time);
      assert.equal(r.unit, spec.expected.unit);
      assert.equal(r.kind, spec.expected.kind);
      assert.equal(r.stale, false);
    });

    it('times out a server that never answers, retrying twice', async () => {
      const e = await fail({ hang: true }, 'timeout', 3);
      assert.equal(h.sleeps.length, 2);
      assert.ok(e.message.includes(spec.currentPath.split('/').at(-1)!), e.message);
    });

    it('reports a refused connection', async () => {
      const error = await h.attempt(h.build(spec.config(await refusedUrl())));
      assert.equal(error?.reason, 'refused');
      assert.equal(h.counts.get(`${spec.provider}/refused`), spec.logsIn ? 1 : 3);
    });

    it('does not retry a 401', () => fail({ status: 401, body: { error: 'Invalid auth-token' } }, 'auth', 1));
    it('does not retry a 404 for an unknown zone', () =>
      fail({ status: 404, body: { error: 'zone not found' } }, 'not_found', 1));

    it('waits for Retry-After on a 429 before retrying', async () => {
      await fail({ status: 429, headers: { 'retry-after': '7' }, body: {} }, 'rate_limited', 3);
      assert.deepEqual(h.sleeps, [7000, 7000]);
    });

    it('gives up at once when Retry-After is longer than the longest backoff', () =>
      fail({ status: 429, headers: { 'retry-after': '3600' }, body: {} }, 'rate_limited', 1));

    it('retries a 500 with growing jittered backoff', async () => {
      const e = await fail(
        { status: 500, body: { error: { message: 'Requested resource not found.' } } },
        'server',
        3,
      );
      assert.deepEqual(h.sleeps, [500, 1000]);
      assert.match(e.message, /HTTP 500/);
    });

    it('rejects truncated JSON', async () => {
      const text = JSON.stringify(spec.routes[spec.currentPath]!.body);
      const e = await fail({ body: text.slice(0, text.length / 2) }, 'bad_response', 3);
      assert.match(e.message, /truncated or invalid JSON/);
    });

    it('rejects an HTML error page', async () => {
      const e = await fail(
        { status: 200, body: '<html><body>502 Bad Gateway</body></html>' },
        'bad_response',
        3,
      );
      assert.match(e.message, /HTML/);
    });

    it('rejects fields of the wrong type without retrying: the same answer would come again', async () => {
      const e = await fail({ body: spec.wrongTypes }, 'bad_shape', 1);
      assert.match(e.message, /unexpected shape/);
    });

    it('times out a body that trickles in after the headers (one deadline per request)', async () => {
      const t0 = Date.now();
      const e = await fail({ trickleMs: 50 }, 'timeout', 3);
      const timeoutMs = (parseCarbonConfig(spec.config(h.server.url)) as { timeout: number }).timeout;
      assert.match(e.message, new RegExp(`no complete answer within ${timeoutMs} ms`));
      assert.ok(Date.now() - t0 < 3 * timeoutMs + 1000, `took ${Date.now() - t0} ms`);
    });

    it('does not follow or retry a redirect, and names its Location', async () => {
      const e = await fail({ status: 302, headers: { location: '/elsewhere?loop=1' } }, 'redirect', 1);
      assert.match(e.message, /HTTP 302 redirect to \/elsewhere\?loop=1 \(not followed\)$/);
    });

    it('stops reading a body larger than the cap, without retrying', async () => {
      const e = await fail({ bytes: 50 * 1024 * 1024 }, 'too_large', 1);
      assert.match(e.message, /response larger than 5242880 bytes$/);
    });

    it('scrubs credentials the server echoes in its error from the message', async function () {
      if ((spec.secrets ?? []).length === 0) {
        console.log(`      skipped: ${spec.provider} sends no credentials`);
        this.skip();
      }
      const echo = (r: RecordedRequest): Route => ({
        status: 401,
        body: { message: `refused ${r.headers['auth-token'] ?? ''} ${r.headers.authorization ?? ''}` },
      });
      h.server.routes.set(spec.currentPath, echo);
      const e = await h.attempt(h.build());
      assert.equal(e?.reason, 'auth', e?.message);
      assert.match(e!.message, /HTTP 401: refused .*\[redacted\]/);
    });

    it('reports a reading older than stale_after as stale', async () => {
      h.clock.now = new Date(spec.now.getTime() + 3 * 3600_000);
      const e = await h.attempt(h.build());
      assert.equal(e?.reason, 'stale');
      assert.equal(h.counts.get(`${spec.provider}/stale`), 1);
    });

    it('serves the last good reading with its age when the provider fails', async () => {
      const p = h.build();
      const good = await p.current();
      h.server.routes.set(spec.currentPath, { status: 500, body: {} });
      h.clock.now = new Date(spec.now.getTime() + 10 * 60_000);
      const r = await p.current();
      assert.equal(r.intensity, good.intensity);
      assert.equal(r.ageMs, h.clock.now.getTime() - good.time.getTime());
      assert.equal(r.stale, false);
      h.clock.now = new Date(spec.now.getTime() + 5 * 3600_000);
      assert.equal((await p.current()).stale, true);
      assert.ok(h.transcript.some((l) => l.includes('using the last good reading')));
    });

    it('never shows a secret in logs, errors or configs', () => assertNoSecrets(h, spec.secrets ?? []));
  });
  return h;
}
