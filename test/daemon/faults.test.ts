/**
 * Fault injection: the real daemon (a child process, training a tiny model) polls Electricity
 * Maps at a fake server on 127.0.0.1 that misbehaves the way networks do. One daemon lives through
 * every case in order (a stall at start-up, then each fault mid-run, then hostile control requests
 * and a bad reload, then SIGTERM during a stall): 1 s request deadline, a poll every second, data
 * stale after 3 s, `when_stale: { rho: 0.5 }`.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testBackend, useBackend } from '../helpers/backend.js';
import {
  type DaemonProcess,
  type DaemonSetup,
  daemonSetup,
  getJson,
  logRecords,
  metric,
  startDaemon,
  until,
} from '../helpers/daemon.js';
import { type RecordedRequest, type Route, TestServer } from '../helpers/http-server.js';

const EM_TOKEN = 'em-TOKEN-5e1f0c9b7a3d';
const LATEST = '/v3/carbon-intensity/latest';
const ZONE = 'TEST-ZONE';

interface Status {
  job: { step: number; state: string };
  decision: { rho: number; pause: boolean; reason: string; override: unknown };
  carbon: { last_error: { message: string } | null };
}

type Mode = 'ok' | Route | ((r: RecordedRequest) => Route);

interface Fault {
  readonly name: string;
  readonly mode: Mode;
  /** The reason its failures are counted under. */
  readonly reason: string;
}

const FAULTS: readonly Fault[] = [
  { name: 'slow headers (2.5 s)', mode: { delayMs: 2500, body: {} }, reason: 'timeout' },
  { name: 'a body trickling one byte every 200 ms', mode: { trickleMs: 200 }, reason: 'timeout' },
  { name: 'a stall mid-run', mode: { hang: true }, reason: 'timeout' },
  { name: 'a connection reset', mode: { reset: true }, reason: 'network' },
  { name: 'a redirect loop', mode: { status: 302, headers: { location: LATEST } }, reason: 'redirect' },
  { name: 'a 50 MB body', mode: { bytes: 50 * 1024 * 1024 }, reason: 'too_large' },
  {
    name: 'the credential echoed in an error',
    mode: (r) => ({ status: 401, body: { message: `auth-token ${r.headers['auth-token']} is not valid` } }),
    reason: 'auth',
  },
];

describe('daemon: faults of the carbon provider and of operators', function () {
  this.timeout(120_000);
  const server = new TestServer();
  let mode: Mode = { hang: true };
  let s: DaemonSetup;
  let d: DaemonProcess;
  let config: string;
  const status = async () => (await getJson(`${s.url}/v1/status`)).body as Status;
  const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
  const errors = async (reason: string) =>
    metric(await scrape(), 'greentrainer_carbon_fetch_errors_total', `reason="${reason}"`) ?? 0;
  const dataAge = async () => metric(await scrape(), 'greentrainer_carbon_data_age_seconds')!;
  const fresh = () =>
    until('a fresh reading in force', async () => {
      const st = await status();
      return st.decision.reason.startsWith('intensity 150') ? st : undefined;
    });
  const whenStale = () =>
    until(
      'the policy’s when_stale',
      async () => {
        const st = await status();
        return st.decision.reason.includes('(when_stale)') ? st : undefined;
      },
      15_000,
    );
  const stepsGoOn = async (from: number) =>
    until('training steps', async () => ((await status()).job.step > from ? true : undefined), 30_000);

  /** What every case asserts: up, training under when_stale, data ageing, no overlap, no secret. */
  async function assertDegradedGracefully(reason: string, errorsBefore: number, stepBefore: number) {
    const st = await whenStale();
    assert.equal(st.job.state, 'running');
    assert.equal(d.child.exitCode, null, 'the daemon is up');
    assert.equal((await getJson(`${s.url}/healthz`)).status, 200);
    const age = await dataAge();
    await new Promise((r) => setTimeout(r, 1100));
    const later = await dataAge();
    assert.ok(age >= 3 && later > age, `data age ${age} s, then ${later} s`);
    assert.ok((await errors(reason)) > errorsBefore, `failures counted as ${reason}`);
    await stepsGoOn(stepBefore);
    assert.equal(server.maxInFlight, 1, 'polls never overlap');
    assertNoSecrets(await scrape(), JSON.stringify(await status()), d.output.join('\n'));
  }

  function assertNoSecrets(...texts: string[]) {
    for (const text of texts)
      for (const secret of [EM_TOKEN, s.token]) assert.ok(!text.includes(secret), `secret leaked: ${secret}`);
  }

  before(async () => {
    await useBackend(testBackend());
    await server.start();
    server.routes.set(LATEST, (r) => {
      const m = mode === 'ok' ? undefined : typeof mode === 'function' ? mode(r) : mode;
      return m ?? { body: { zone: ZONE, carbonIntensity: 150, datetime: new Date().toISOString() } };
    });
    s = await daemonSetup();
    writeFileSync(join(s.dir, 'em-token'), `${EM_TOKEN}\n`);
    const carbon = `carbon:
  provider: electricitymaps
  region: ${ZONE}
  base_url: ${server.url}/v3
  token_file: ${join(s.dir, 'em-token')}
  timeout: 1s
  retries: 1
  poll: "* * * * * *"
  stale_after: 1h
`;
    config = `${s
      .config('  stale_after: 3s\n  when_stale: { rho: 0.5 }\n')
      .replace(/^carbon:\n(?: {2}.*\n)+/, carbon)}startup_wait: 2s\n`;
    writeFileSync(s.configFile, config);
    d = startDaemon(s.configFile);
  });

  after(async () => {
    if (d && d.child.exitCode === null) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
    await server.stop();
  });

  it('a stall at start-up: the trainer starts under when_stale within startup_wait', async () => {
    const started = await until('the trainer to start', () =>
      logRecords(d).find((r) => r.message === 'trainer started'),
    );
    assert.ok(started);
    const first = logRecords(d).find((r) => r.message === 'decision')!;
    assert.match(first.reason as string, /^no reading → ρ 0\.5 \(when_stale\)/);
    assert.ok(
      logRecords(d).some(
        (r) => r.message === "no carbon reading yet; the trainer starts under the policy's when_stale",
      ),
    );
    await assertDegradedGracefully('timeout', 0, -1);
    const text = await scrape();
    assert.ok(metric(text, 'greentrainer_polls_skipped_total', 'feed="carbon"')! > 0, 'ticks were skipped');
  });

  it('recovers when the provider answers again', async () => {
    mode = 'ok';
    const st = await fresh();
    assert.equal(st.decision.rho, 0.9);
    assert.equal(st.carbon.last_error, null);
    assert.ok((await dataAge()) < 3);
  });

  for (const fault of FAULTS)
    it(`${fault.name}: stays up and trains under when_stale; counted as ${fault.reason}`, async () => {
      mode = 'ok';
      await fresh();
      const before = await errors(fault.reason);
      const step = (await status()).job.step;
      const rss = metric(await scrape(), 'process_resident_memory_bytes')!;
      mode = fault.mode;
      await assertDegradedGracefully(fault.reason, before, step);
      const st = await status();
      assert.match(
        st.carbon.last_error?.message ?? '',
        new RegExp(`^electricitymaps: ${fault.reason.replace('_', ' ')}: `),
      );
      if (fault.reason === 'auth')
        assert.match(st.carbon.last_error!.message, /auth-token \[redacted\] is not valid/);
      if (fault.reason === 'redirect')
        assert.match(st.carbon.last_error!.message, /HTTP 302 redirect to \/v3\/carbon-intensity\/latest/);
      if (fault.reason === 'too_large') {
        const grown = metric(await scrape(), 'process_resident_memory_bytes')! - rss;
        assert.ok(grown < 64 * 1024 * 1024, `the daemon grew ${grown} bytes`);
      }
    });

  it('/v1/rho: out-of-bounds values are refused before anything is stored; the daemon stays up', async () => {
    const post = (body: unknown) =>
      fetch(`${s.url}/v1/rho`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const refused = await post({ rho: 0.7, ttl_seconds: 1e20 });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), {
      error: 'ttl_seconds must be a number in (0, 604800] (7 days), got 100000000000000000000',
    });
    assert.equal((await post('{"rho": 0.7, "ttl_seconds": 1e400}')).status, 400);
    assert.equal((await post({ rho: 1.5, ttl_seconds: 60 })).status, 400);
    assert.equal((await status()).decision.override, null, 'nothing was stored');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(d.child.exitCode, null);
    assert.equal((await getJson(`${s.url}/v1/status`)).status, 200);
    const accepted = await post({ rho: 0.8, ttl_seconds: 604_800 });
    assert.equal(accepted.status, 200);
    assert.equal(((await status()).decision.override as { rho: number }).rho, 0.8);
    assert.equal(metric(await scrape(), 'greentrainer_daemon_errors_total', 'where="decide"'), 0);
  });

  it('SIGHUP with an invalid cron expression: rejected with file:line:col, old config kept, polling on', async () => {
    writeFileSync(s.configFile, config.replace('poll: "* * * * * *"', 'poll: "61 * * * * *"'));
    d.child.kill('SIGHUP');
    const rejected = await until('the rejection', () =>
      logRecords(d).find((r) => r.message === 'config reload rejected; the previous config stays in force'),
    );
    assert.match(
      rejected.error as string,
      /daemon\.yaml:8:9: carbon\.poll: invalid cron expression '61 \* \* \* \* \*'/,
    );
    writeFileSync(s.configFile, config);
    const polls = server.count(LATEST);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(server.count(LATEST) >= polls + 2, 'still polling every second');
    assert.equal((await getJson(`${s.url}/healthz`)).status, 200);
  });

  it('SIGTERM during a stall: exits 0 with a checkpoint within the bound', async () => {
    mode = { hang: true };
    await until('a poll hanging', () => (server.inFlight > 0 ? true : undefined), 10_000);
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const { code } = await d.exited;
    assert.equal(code, 0, d.output.slice(-10).join('\n'));
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms (shutdown_timeout 20 s)`);
    const stop = logRecords(d)
      .filter((r) => r.message === 'checkpoint')
      .at(-1)!;
    // A clean stop checkpoints the step it stopped at: as 'stop', or as 'interval' when the stop
    // came right after an interval checkpoint of that same step.
    assert.equal(logRecords(d).find((r) => r.message === 'stopped')?.trainer, 'clean');
    assert.ok(['stop', 'interval'].includes(stop.reason as string), String(stop.reason));
    assert.ok(existsSync(join(stop.path as string, 'MANIFEST.json')));
    assertNoSecrets(d.output.join('\n'));
    assert.ok(
      !readFileSync(s.configFile, 'utf8').includes(EM_TOKEN),
      'the config names a file, not the token',
    );
  });
});

describe('daemon: a bad cron expression at start-up', function () {
  this.timeout(60_000);

  it('is refused with the file, line and column', async () => {
    const s = await daemonSetup();
    writeFileSync(s.configFile, s.config().replace('poll: "* * * * * *"', 'poll: "*/5 * * *"'));
    const d = startDaemon(s.configFile);
    const { code } = await d.exited;
    assert.equal(code, 1);
    assert.match(
      d.output.join('\n'),
      /daemon\.yaml:5:9: carbon\.poll: invalid cron expression '\*\/5 \* \* \*' \(5 fields, or 6 with seconds first/,
    );
  });
});
