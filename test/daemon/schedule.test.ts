import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testBackend, useBackend } from '../helpers/backend.js';
import { daemonSetup, getJson, logRecords, metric, startDaemon, until } from '../helpers/daemon.js';
import {
  finishTimes,
  type Interval,
  type PredictionPolicy,
  runAndSimulate,
  type Simulated,
  wholeInterval,
} from '../helpers/prediction.js';

/**
 * The simulator predicts the daemon: the real daemon runs a short job on a replayed trace (30
 * trace minutes = 6 s), then `policy simulate --from-run` replays the same policy on the same
 * trace with the machine measured from that run. The finish time, the steps done by the end of
 * every trace interval, and the steps in each interval at the machine's measured pace must agree
 * within ±10 % (see `assertPredicted`).
 */
async function runToEnd(kind: PredictionPolicy, epochs: number) {
  const { sim, d } = await runAndSimulate(kind, {
    intervalS: 6,
    train: `epochs: ${epochs}`,
    selectionInterval: 5000,
  });
  // For a failure's message: when the daemon decided what, and the trainer started and selected.
  const events = logRecords(d)
    .filter((r) => ['decision', 'trainer started', 'selection'].includes(r.message as string))
    .map(
      (r) => `${String(r.timestamp).slice(11, 23)} ${r.message} ρ ${r.rho ?? ''}${r.pause ? ' pause' : ''}`,
    );
  return { sim, events: events.join('; ') };
}

function assertPredicted({ sim, events }: { sim: Simulated; events: string }, steps: number): void {
  assert.equal(sim.measured.steps, steps);
  assert.equal(sim.policy.steps, steps);
  // The finish, and the time spent running (the finish less the time paused): each within ±10 %,
  // but a different number of paused seconds may move the finish by as much. A budget policy
  // pauses whole intervals, so a job whose end falls near a clean interval's end either finishes
  // in it or waits out the dirty one after: a 1 % pace error moves the finish by a whole interval.
  // That is the policy's step, not the model's error (CI measured a finish at 41.4 s that the
  // simulator put at 49.2 s, past one 6 s pause); the running time must still agree, and the
  // progress curve below bounds the steps carried past the pause to 10 % of the job.
  const t = finishTimes(sim);
  const { measuredMs, simulatedMs } = t;
  const measuredRunMs = Math.round(t.measuredRunMs);
  const simulatedRunMs = Math.round(t.simulatedRunMs);
  const finish = `finish: simulated ${simulatedMs} ms after the start (${simulatedRunMs} running), measured ${measuredMs} ms (${measuredRunMs} running)`;
  console.log(`      ${finish}`);
  assert.ok(Math.abs(simulatedRunMs / measuredRunMs - 1) <= 0.1, finish);
  const pausedMs = Math.abs(sim.policy.paused_s - sim.measured.paused_s) * 1000;
  assert.ok(Math.abs(simulatedMs - measuredMs) <= 0.1 * measuredMs + pausedMs, finish);
  // Steps in every trace interval, within ±10 % of what a whole interval at its intensity holds
  // (the most any interval at that intensity measured; a fraction of the interval's own count
  // would not do: the first and last intervals are partial, and a paused one holds a handful) —
  // once the machine's own speed in the interval is divided out. The model, fitted on the whole
  // run, predicts the run's mean pace; this 2-core VM's speed moves under it: a fixed wasm matMul
  // loop alone ran 43-67 iterations/s in 2 s windows, and the same mask's step, as the trainer
  // timed it, took 21 ms in one interval and 35 ms two intervals later (bench:predict prints it).
  // `machine_pace` is that speed: the wall time between consecutive steps (what the model is fitted
  // on) against the run's mean at the same ρ, without the steps around pauses, starts and
  // selections, so it does not absorb a model error in how ρ, pauses, re-selections or the
  // warm-up cost time. (The trainer's own step timer missed CI's stalls: one interval held 215
  // steps and the next clean one 536, both at the run's mean by that timer.) Raw counts must still
  // agree within ±50 % (a model that ignored ρ would miss by 2.6×); the table of every interval is
  // printed.
  const last = sim.intervals.findLastIndex((i) => i.steps > 0 || i.measured_steps > 0);
  assert.ok(last >= 3, `the run spans ${last + 1} intervals`);
  const run = sim.intervals.slice(0, last + 1);
  const firstEnd = Math.min(
    run.findLastIndex((i) => i.steps > 0),
    run.findLastIndex((i) => i.measured_steps > 0),
  );
  const whole = wholeInterval(run);
  const atMeanPace = (i: Interval) => i.measured_steps * (i.machine_pace ?? 1);
  const table = `${JSON.stringify(run)}; the daemon: ${events}`;
  console.log(
    `      steps per interval, simulated/measured (at the run's mean pace): ${run
      .map((i) => `${i.steps}/${i.measured_steps} (${Math.round(atMeanPace(i))})`)
      .join(' ')}`,
  );
  for (const [k, i] of run.entries()) {
    assert.ok(
      Math.abs(i.steps - i.measured_steps) <= 0.5 * whole(i.intensity),
      `interval ${k}: simulated ${i.steps} steps, measured ${i.measured_steps}, a whole one ${whole(i.intensity)} (${table})`,
    );
    // The interval where either finished holds what the job had left, so its count is the sum of
    // every earlier interval's error, the machine's unpaced drift included, and one side has
    // nothing to compare after it; the finish is asserted above, and the steps left after it by the
    // progress curve below.
    if (k >= firstEnd) continue;
    assert.ok(
      Math.abs(i.steps - atMeanPace(i)) <= 0.1 * whole(i.intensity),
      `interval ${k}: simulated ${i.steps} steps, measured ${i.measured_steps} at pace ${i.machine_pace}, a whole one ${whole(i.intensity)} (${table})`,
    );
  }
  // And the progress curve: steps done by the end of every interval within ±10 % of the job.
  let simulated = 0;
  let measured = 0;
  for (const [k, i] of run.entries()) {
    simulated += i.steps;
    measured += i.measured_steps;
    assert.ok(
      Math.abs(simulated - measured) <= 0.1 * steps,
      `by the end of interval ${k}: simulated ${simulated} steps, measured ${measured} (${table})`,
    );
  }
}

describe('daemon: the execution model predicts the daemon', function () {
  this.timeout(300_000);
  before(async () => useBackend(testBackend()));

  it('linear policy: policy simulate --from-run gives the measured finish, progress and steps per interval at the machine’s pace (±10 %)', async () => {
    assertPredicted(await runToEnd('linear', 20), 2000);
  });

  it('budget policy: pauses in the dirty intervals of the forecast; the simulator predicts its finish, progress and steps per interval at the machine’s pace (±10 %)', async () => {
    const run = await runToEnd('budget', 13);
    assertPredicted(run, 1300);
    const { sim } = run;
    // It runs in the clean (100 g/kWh) intervals and pauses through the dirty (300) ones, but for
    // the steps before the first poll that sees one begin (polls come every second, so up to 1 s of
    // a 6 s interval: a sixth of a clean one's steps, and some noise): the daemon did so, and the
    // simulator too.
    const last = sim.intervals.findLastIndex((i) => i.measured_steps > 0);
    const clean = sim.intervals.slice(0, last + 1).filter((i) => i.intensity === 100);
    const dirty = sim.intervals.slice(1, last).filter((i) => i.intensity === 300);
    const most = Math.max(...clean.map((i) => i.measured_steps));
    for (const i of dirty) {
      assert.ok(i.measured_steps < 0.3 * most, JSON.stringify(sim.intervals));
      assert.ok(i.steps < 0.3 * most, JSON.stringify(sim.intervals));
    }
    assert.ok(dirty.length >= 2 && clean.length >= 3, JSON.stringify(sim.intervals));
  });
});

describe('daemon: a budget policy gets forecasts', function () {
  this.timeout(120_000);
  before(async () => useBackend(testBackend()));

  it('shows a plan with pauses in the dirty intervals of the trace forecast, and exports the horizon', async () => {
    const s = await daemonSetup();
    const budget = 'map: { type: budget, deadline: 2h, min_mean_rho: 0.6, interval: 3s }';
    writeFileSync(
      s.configFile,
      s
        .config()
        .replace(/map: \{ type: steps[^\n]*/, budget)
        .replace('stale_after: 10m', 'stale_after: 10m\n  forecast: { every: 1h, hours: 48 }'),
    );
    const d = startDaemon(s.configFile);
    try {
      const st = await until('a plan', async () => {
        const b = (await getJson(`${s.url}/v1/status`)).body as {
          plan: Array<{ from: string; pause: boolean; intensity: number }>;
        };
        return b.plan.length > 4 ? b : undefined;
      });
      // The trace alternates 100 and 300 g/kWh every 3 s (past its end, the mean: 200): the plan
      // runs in the 100s and pauses in the 300s.
      const pauses = st.plan.filter((p) => p.pause);
      const runs = st.plan.filter((p) => !p.pause);
      assert.ok(
        pauses.some((p) => p.intensity === 300) && runs.some((p) => p.intensity === 100),
        JSON.stringify(st.plan),
      );
      assert.ok(
        Math.min(...pauses.map((p) => p.intensity)) >= Math.max(...runs.map((p) => p.intensity)),
        JSON.stringify(st.plan),
      );
      const text = await (await fetch(`${s.url}/metrics`)).text();
      assert.ok(metric(text, 'greentrainer_forecast_horizon_seconds')! > 60);
      assert.ok(logRecords(d).some((r) => r.message === 'forecast'));
      // Until the trainer's first steps measure the machine, it runs at the quality target.
      const decisions = logRecords(d).filter((r) => r.message === 'decision');
      assert.match(decisions[0]!.reason as string, /the job's speed is not measured yet/);
      assert.equal(decisions[0]!.rho, 0.6);
      await until('a decision planned on the measured machine', () =>
        logRecords(d).find(
          (r) => r.message === 'decision' && /steps at ρ 0\.6 need/.test(r.reason as string),
        ),
      );
    } finally {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });
});

/**
 * A UK Carbon Intensity API on 127.0.0.1 in its documented format (shared/providers/README.md):
 * the current half hour is dirty (300), the next clean (90), then 250 and 120 alternating.
 */
async function ukServer(): Promise<{ server: Server; url: string; forecasts: () => number }> {
  let forecasts = 0;
  const HALF_HOUR = 1_800_000;
  const period = (from: number, value: number) => ({
    from: `${new Date(from).toISOString().slice(0, 16)}Z`,
    to: `${new Date(from + HALF_HOUR).toISOString().slice(0, 16)}Z`,
    intensity: { forecast: value, actual: null, index: value > 200 ? 'high' : 'low' },
  });
  const server = createServer((req, res) => {
    const now = Math.floor(Date.now() / HALF_HOUR) * HALF_HOUR;
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    let data: unknown[];
    if (path === '/intensity') data = [period(now, 300)];
    else if (/^\/intensity\/[^/]+\/fw48h$/.test(path)) {
      forecasts++;
      data = Array.from({ length: 96 }, (_, k) =>
        period(now + k * HALF_HOUR, k === 0 ? 300 : k % 2 ? 90 + k : 250),
      );
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forecasts: () => forecasts,
  };
}

describe('daemon: a budget policy gets forecasts from a live provider', function () {
  this.timeout(120_000);
  before(async () => useBackend(testBackend()));

  it('fetches the UK 48 h forecast, pauses in the dirty half hour and plans the run in the clean one', async () => {
    const uk = await ukServer();
    const s = await daemonSetup();
    const carbon = `carbon:\n  provider: uk-carbon-intensity\n  base_url: ${uk.url}\n  poll: "*/2 * * * * *"\n  timeout: 2s\n`;
    const config = s
      .config()
      .replace(/carbon:\n( {2}[^\n]*\n)+/, carbon)
      .replace(/map: \{ type: steps[^\n]*/, 'map: { type: budget, deadline: 12h, min_mean_rho: 0.6 }');
    writeFileSync(s.configFile, config);
    const d = startDaemon(s.configFile);
    try {
      const st = await until(
        'a paused plan',
        async () => {
          const b = (await getJson(`${s.url}/v1/status`)).body as {
            decision: { pause: boolean; reason: string };
            plan: Array<{ from: string; pause: boolean; intensity: number }>;
          };
          return b.decision.pause && b.plan.length >= 2 ? b : undefined;
        },
        90_000,
      );
      assert.ok(uk.forecasts() >= 1, 'the daemon asked for the forecast');
      assert.deepEqual(
        st.plan.slice(0, 2).map((p) => [p.pause, p.intensity]),
        [
          [true, 300],
          [false, 91],
        ],
      );
      assert.match(st.decision.reason, /a cleaner interval comes later → pause/);
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const horizon = metric(text, 'greentrainer_forecast_horizon_seconds')!;
      assert.ok(horizon > 46 * 3600 && horizon <= 48 * 3600, `horizon ${horizon} s`);
    } finally {
      d.child.kill('SIGKILL');
      await d.exited;
      uk.server.close();
    }
  });
});
