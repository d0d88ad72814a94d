import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError } from '../../src/config/yaml-file.js';
import { readDaemonConfig } from '../../src/daemon/config.js';
import { dashboardQueries, expandVariables, readDashboard } from '../deploy/dashboard-queries.js';
import { GREENTRAINER_METRICS } from '../deploy/metric-names.js';
import { findOnPath } from '../deploy/tools.js';
import { testBackend, useBackend } from '../helpers/backend.js';
import {
  type DaemonProcess,
  type DaemonSetup,
  daemonSetup,
  freePort,
  getJson,
  logRecords,
  metric,
  startDaemon,
  until,
} from '../helpers/daemon.js';

interface Status {
  job: { step: number; totalSteps: number; state: string; selections: number; trainer_pid: number | null };
  timeline: Array<{ rho: number }>;
  totals: {
    flops: number;
    flops_full: number;
    selection_flops: number;
    flops_saved_ratio: number;
    energy_joules: number;
    energy_joules_by_phase: Record<string, number>;
    emissions_grams: number;
  } | null;
  decision: { rho: number; pause: boolean; reason: string };
}

const status = async (s: DaemonSetup) => (await getJson(`${s.url}/v1/status`)).body as Status;
const scrape = async (s: DaemonSetup) => (await fetch(`${s.url}/metrics`)).text();

function promtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return undefined;
  }
}

describe('daemon: end to end on a tiny model and a replayed trace', function () {
  this.timeout(180_000);
  let s: DaemonSetup;
  let d: DaemonProcess;

  before(async () => {
    await useBackend(testBackend());
    s = await daemonSetup();
    d = startDaemon(s.configFile);
    const exited = d.exited.then(() => {
      throw new Error(`the daemon exited:\n${d.output.slice(-20).join('\n')}`);
    });
    await Promise.race([
      until('the daemon to train', async () => (await status(s)).job.step > 0, 90_000),
      exited,
    ]);
  });

  after(async () => {
    if (d && d.child.exitCode === null) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });

  it('follows the trace: ρ changes re-select, FLOPs drop by the selections’ ratio, energy and CO2 accrue', async () => {
    await until('3 decisions and 3 selections', async () => {
      const st = await status(s);
      return st.timeline.length >= 3 && st.job.selections >= 3 ? st : undefined;
    });
    const text = await scrape(s);
    const selections = metric(text, 'greentrainer_selections_total', 'run="tiny"')!;
    assert.ok(selections >= 3, `selections_total ${selections}`);
    const flops = metric(text, 'greentrainer_training_flops_total', 'run="tiny"')!;
    const full = metric(text, 'greentrainer_training_flops_full_total', 'run="tiny"')!;
    assert.ok(flops < full, `${flops} < ${full}`);
    // Expected: each selection's modeled ratio, weighted by the steps it was in force (from the logs).
    const steps = metric(text, 'greentrainer_training_steps_total', 'run="tiny"')!;
    const sel = logRecords(d)
      .filter((r) => r.message === 'selection')
      .map((r) => ({ step: r.step as number, ratio: r.flops_ratio as number }));
    let weighted = 0;
    sel.forEach((x, i) => {
      const until = Math.min(sel[i + 1]?.step ?? steps, steps);
      weighted += x.ratio * Math.max(0, until - x.step);
    });
    const expected = weighted / steps;
    const measured = flops / full;
    assert.ok(Math.abs(measured / expected - 1) <= 0.05, `FLOPs ratio ${measured} vs expected ${expected}`);
    assert.ok(metric(text, 'greentrainer_energy_joules_total', 'method="estimate",phase="train"')! > 0);
    assert.ok(metric(text, 'greentrainer_energy_joules_total', 'method="estimate",phase="select"')! > 0);
    // FLOPs saved net of re-selection, in /v1/status as in the counters.
    const selectionFlops = metric(text, 'greentrainer_selection_flops_total', 'run="tiny"')!;
    assert.ok(selectionFlops > 0, 're-selection FLOPs are counted');
    const t = (await status(s)).totals!;
    assert.ok(t.selection_flops >= selectionFlops);
    const net = (t.flops_full - t.flops - t.selection_flops) / t.flops_full;
    assert.ok(Math.abs(t.flops_saved_ratio - net) < 1e-9, `${t.flops_saved_ratio} vs ${net}`);
    assert.ok(t.energy_joules_by_phase.select! > 0 && t.energy_joules_by_phase.train! > 0);
    assert.ok(metric(text, 'greentrainer_emissions_grams_total')! > 0);
    assert.ok(metric(text, 'greentrainer_emissions_avoided_grams_total')! > 0);
    // The floor the alert compares ρ with: the policy's rho_min (0.5 here) or the job's own floor.
    const jobFloor = logRecords(d).find((r) => r.message === 'trainer started')!.rho_floor as number;
    const floor = metric(text, 'greentrainer_rho_floor')!;
    assert.equal(floor, Math.max(0.5, Math.ceil(jobFloor * 1000) / 1000));
    assert.ok(metric(text, 'greentrainer_rho')! >= floor, 'ρ is never applied below the floor');
    const tool = promtool();
    if (!tool) {
      console.log(
        '      (promtool not installed: skipping `promtool check metrics`; .ci/run installs the prometheus package)',
      );
      return;
    }
    execFileSync(tool, ['check', 'metrics'], { input: text });
  });

  it('control endpoints need the bearer token; secrets appear nowhere', async () => {
    const post = (path: string, token?: string, body?: unknown) =>
      fetch(`${s.url}${path}`, {
        method: 'POST',
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'content-type': 'application/json',
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    assert.equal((await post('/v1/pause')).status, 401);
    assert.equal((await post('/v1/pause', 'wrong-token-123')).status, 401);
    const paused = await post('/v1/pause', s.token);
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as { pause: boolean }).pause, true);
    const resumed = await post('/v1/resume', s.token);
    assert.equal(((await resumed.json()) as { pause: boolean }).pause, false);
    const override = await post('/v1/rho', s.token, { rho: 0.75, ttl_seconds: 60 });
    assert.equal(((await override.json()) as { rho: number }).rho, 0.75);
    assert.equal((await post('/v1/rho', s.token, { rho: 7 })).status, 400);
    assert.equal(((await getJson(`${s.url}/v1/rho`)).body as { rho: number }).rho, 0.75);
    const everything = [await scrape(s), JSON.stringify(await status(s)), d.output.join('\n')].join('\n');
    assert.ok(!everything.includes(s.token), 'the token leaked');
  });

  it('SIGHUP: a broken config is rejected and logged, a good one is applied', async () => {
    const good = s.config();
    writeFileSync(s.configFile, `${good}\nnonsense: [`);
    d.child.kill('SIGHUP');
    await until('the rejection', () =>
      logRecords(d).find((r) => r.message === 'config reload rejected; the previous config stays in force'),
    );
    assert.equal((await getJson(`${s.url}/healthz`)).status, 200, 'still up');
    // A token file that cannot be read is a bad config too: rejected, not a crash.
    writeFileSync(s.configFile, good.replace('token_file: token', 'token_file: no-such-token'));
    d.child.kill('SIGHUP');
    await until('the second rejection', () =>
      logRecords(d).filter((r) => r.message === 'config reload rejected; the previous config stays in force')
        .length >= 2
        ? true
        : undefined,
    );
    assert.equal((await getJson(`${s.url}/healthz`)).status, 200, 'still up');
    writeFileSync(s.configFile, s.config('  pause_above: 250\n'));
    d.child.kill('SIGHUP');
    await until('the reload', () => logRecords(d).find((r) => r.message === 'config reloaded'));
    await until('a pause from the new policy', async () =>
      (await status(s)).decision.pause ? true : undefined,
    );
    writeFileSync(s.configFile, good);
    d.child.kill('SIGHUP');
    await until('resume', async () => (!(await status(s)).decision.pause ? true : undefined), 30_000);
  });

  it('kill -9 of the trainer: the daemon stays up, restarts it from its checkpoint, and the job goes on', async () => {
    await until('a checkpoint', () => logRecords(d).find((r) => r.message === 'checkpoint'));
    const before = await status(s);
    const pid = before.job.trainer_pid!;
    process.kill(pid, 'SIGKILL');
    await until('a new trainer', async () => {
      const st = await status(s);
      return st.job.trainer_pid && st.job.trainer_pid !== pid && st.job.state === 'running' ? st : undefined;
    });
    assert.equal(metric(await scrape(s), 'greentrainer_trainer_restarts_total', 'run="tiny"'), 1);
    const resumedAt = (await status(s)).job.step;
    await until('progress after the restart', async () =>
      (await status(s)).job.step > resumedAt ? true : undefined,
    );
  });

  it('the scrape carries exactly the metric names, types and labels deploy/ and grafana/ rely on', async () => {
    const text = await scrape(s);
    for (const [name, spec] of Object.entries(GREENTRAINER_METRICS)) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${spec.type}$`, 'm'), `${name} is a ${spec.type}`);
    }
    const exported = [...text.matchAll(/^# TYPE (greentrainer_\w+) /gm)].map((m) => m[1]);
    assert.deepEqual(exported.sort(), Object.keys(GREENTRAINER_METRICS).sort());
  });

  it('a real Prometheus scrapes the daemon, and every dashboard panel query returns data', async function () {
    const prometheus = findOnPath('prometheus');
    if (!prometheus) {
      console.log(
        '      skipped: `prometheus` not on PATH (Debian package `prometheus`; .ci/run installs it)',
      );
      this.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'gt-prom-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: greentrainer\n    static_configs: [{ targets: ['127.0.0.1:${s.port}'] }]\n`,
    );
    const p = spawn(
      prometheus!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    try {
      const api = `http://127.0.0.1:${port}/api/v1`;
      const query = async (expr: string) => {
        const res = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`);
        const body = (await res.json()) as { status: string; data: { result: unknown[] } };
        return body.status === 'success' ? body.data.result : [];
      };
      await until(
        '10 scrapes',
        async () => {
          const r = (await query('count_over_time(greentrainer_training_steps_total[1m])')) as Array<{
            value: [number, string];
          }>;
          return r[0] && Number(r[0].value[1]) >= 10 ? true : undefined;
        },
        60_000,
      );
      const queries = dashboardQueries(readDashboard());
      assert.ok(queries.length >= 20, `${queries.length} queries`);
      const empty: string[] = [];
      for (const q of queries) {
        const expr = expandVariables(q.expr);
        if ((await query(expr)).length === 0) empty.push(`${q.source}: ${expr}`);
      }
      assert.deepEqual(empty, [], 'dashboard queries without data');
      const byPhase = queries.find((q) => q.source === 'Energy by phase')!;
      const series = (await query(expandVariables(byPhase.expr))) as Array<{ metric: { phase: string } }>;
      assert.ok(
        series.some((x) => x.metric.phase === 'train'),
        `energy by phase: ${JSON.stringify(series.map((x) => x.metric))}`,
      );
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('SIGTERM mid-run: exits 0 within the bound with a checkpoint; a restart resumes from it', async () => {
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const { code } = await d.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 25_000, `took ${Date.now() - t0} ms`);
    const stop = logRecords(d)
      .filter((r) => r.message === 'checkpoint')
      .at(-1)!;
    // A stop on the step an interval checkpoint was just written at needs no second one.
    assert.ok(['stop', 'interval'].includes(stop.reason as string), `last checkpoint: ${stop.reason}`);
    assert.ok(logRecords(d).some((r) => r.message === 'trainer state' && r.state === 'stopped'));
    assert.ok(existsSync(join(stop.path as string, 'MANIFEST.json')));
    d = startDaemon(s.configFile);
    const resumed = await until('the resumed trainer', () =>
      logRecords(d).find((r) => r.message === 'trainer started'),
    );
    assert.equal(resumed.step, stop.step);
    assert.equal(resumed.resumed_from, stop.path);
  });
});

describe('daemon configs', () => {
  it('config/daemon.example.yaml and demo/daemon.yaml are valid', () => {
    for (const f of ['../../config/daemon.example.yaml', '../../demo/daemon.yaml']) {
      const c = readDaemonConfig(new URL(f, import.meta.url).pathname);
      assert.ok(c.job.name && c.policy.map);
    }
  });

  it('names the file, line and field of a bad daemon config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-cfg-'));
    const file = join(dir, 'daemon.yaml');
    writeFileSync(
      file,
      'policy:\n  map: { type: linear, points: [[100, 1.0], [50, 0.5]] }\njob:\n  model: m\n  dataset: { path: d }\n  output: o\nserver: { listen: nowhere }\n',
    );
    assert.throws(
      () => readDaemonConfig(file),
      (e: unknown) =>
        e instanceof ConfigFileError &&
        /daemon\.yaml:2:\d+: policy\.map\.points\.1\.0/.test(e.message) &&
        /daemon\.yaml:7:\d+: server\.listen: expected host:port/.test(e.message),
    );
  });
});
