import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { readTraceFile } from '../../src/carbon/trace-file.js';
import { runPolicySimulate } from '../../src/commands/policy.js';
import { simulationChart } from '../../src/policy/chart.js';
import { readPolicyFile } from '../../src/policy/load.js';
import { policySchema } from '../../src/policy/schema.js';
import { simulate } from '../../src/policy/simulate.js';
import { execute } from '../../src/schedule/execute.js';
import { IntensityCurve } from '../../src/schedule/intensity-curve.js';
import type { ExecutionModel } from '../../src/schedule/model.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const WEEK = readTraceFile(`${root}config/traces/uk-week.csv`);
const DAY = readTraceFile(`${root}config/traces/uk-day.csv`);

/** A full-FT step takes 6 s at 400 W (50 W paused); a re-selection costs one full step. */
const MODEL: ExecutionModel = {
  fullStepFlops: 6e14,
  flopsPerSecond: 1e14,
  stepOverheadSeconds: 0,
  selectionSeconds: 6,
  selectionIntervalSteps: 200,
  rhoFloor: 0,
  powerRunW: 400,
  powerIdleW: 50,
};
const input = (steps: number) => ({
  model: MODEL,
  steps,
  start: DAY.points[0]!.time,
  pollMs: 300_000,
  forecastHours: 48,
});

describe('schedule/execute', () => {
  it('finishes the same steps sooner at a lower constant ρ (ρ is not a throttle)', () => {
    const curve = new IntensityCurve(WEEK.points);
    const run = (rho: number) =>
      execute({
        model: MODEL,
        steps: 5000,
        start: WEEK.points[0]!.time.getTime(),
        end: WEEK.points.at(-1)!.time.getTime(),
        pollMs: 300_000,
        intensity: curve,
        decide: () => ({ rho, pause: false }),
      });
    const low = run(0.4);
    const mid = run(0.7);
    const full = run(1);
    assert.ok(low.finish! < mid.finish! && mid.finish! < full.finish!);
    // 5,000 steps × 6 s × ρ, plus a re-selection (6 s) every 200 steps after the first, which the
    // start's cost includes (0 s in this model).
    assert.equal((full.finish! - WEEK.points[0]!.time.getTime()) / 1000, 5000 * 6 + 24 * 6);
    assert.ok(Math.abs(low.flops / full.flops - (0.4 * 5000 * 6 + 24 * 6) / (5000 * 6 + 24 * 6)) < 1e-12);
  });

  it('a ρ map that never pauses emits what constant ρ with the same compute emits (±1 %)', () => {
    const policy = readPolicyFile(`${root}config/policies/balanced.yaml`);
    const sim = simulate({ ...policy, pause_above: undefined }, WEEK, {
      ...input(20_000),
      start: WEEK.points[0]!.time,
    });
    assert.equal(sim.policy.pausedSeconds, 0);
    const same = sim.baselines.same_compute;
    assert.ok(
      Math.abs(same.flops / sim.policy.flops - 1) < 0.01,
      `${same.flops} vs ${sim.policy.flops} FLOPs`,
    );
    assert.ok(Math.abs(same.co2G / sim.policy.co2G - 1) < 0.01, `${same.co2G} vs ${sim.policy.co2G} g`);
    assert.ok(sim.policy.co2G < sim.baselines.full.co2G, 'less compute emits less');
  });
});

describe('policy/simulate', () => {
  it('refuses the old throttle form of the budget map, saying what replaced it', () => {
    const r = policySchema.safeParse({
      map: { type: 'budget', deadline: '12h', flops_per_second: 1e14, job_flops: 1e19 },
    });
    assert.equal(r.success, false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    assert.match(
      messages,
      /map\.flops_per_second: removed: ρ is not a throttle .* Give min_mean_rho or budget_g/,
    );
    assert.match(messages, /map\.job_flops: removed: .*--steps/);
    assert.match(messages, /needs exactly one of min_mean_rho .* or budget_g/);
  });

  it('deadline-budget on uk-week: finishes by the deadline at mean ρ 0.6 with ≥ 10 % less CO2e than same_compute', () => {
    const out = runPolicySimulate(`${root}config/policies/deadline-budget.yaml`, {
      trace: `${root}config/traces/uk-week.csv`,
      steps: 20_000,
      stepSeconds: 6,
      powerRun: 400,
      selectionInterval: 200,
      poll: 300_000,
      forecastHours: 48,
      json: true,
    });
    const j = JSON.parse(out);
    const keys = ['steps', 'finish', 'mean_rho', 'flops', 'energy_j', 'co2_g', 'paused_s'];
    for (const r of [j.policy, j.baselines.full, j.baselines.same_compute, j.baselines.shift_only])
      assert.deepEqual(Object.keys(r), keys);
    assert.equal(j.policy.steps, 20_000);
    assert.ok(Date.parse(j.policy.finish) <= Date.parse(j.deadline), `${j.policy.finish} > ${j.deadline}`);
    assert.ok(Math.abs(j.policy.mean_rho - j.baselines.same_compute.mean_rho) < 1e-9);
    assert.ok(Math.abs(j.policy.mean_rho - 0.6) < 0.005, `mean ρ ${j.policy.mean_rho}`);
    assert.ok(
      j.policy.co2_g <= 0.9 * j.baselines.same_compute.co2_g,
      `${j.policy.co2_g} g vs same_compute ${j.baselines.same_compute.co2_g} g`,
    );
    assert.ok(j.policy.paused_s > 0);
    assert.ok(j.baselines.shift_only.co2_g < j.baselines.full.co2_g);
  });

  it('a CO2e budget buys the highest mean ρ it can, and a bigger one buys more', () => {
    const run = (budgetG: number) => {
      const policy = policySchema.parse({
        map: { type: 'budget', deadline: '72h', budget_g: budgetG },
        rho_min: 0.35,
      });
      return simulate(policy, WEEK, { ...input(20_000), start: WEEK.points[0]!.time }).policy;
    };
    const small = run(700);
    const large = run(1100);
    assert.equal(small.steps, 20_000);
    assert.ok(small.meanRho < large.meanRho, `${small.meanRho} vs ${large.meanRho}`);
    // Within the budget, up to the first steps run before the machine is measured.
    assert.ok(small.co2G <= 700 * 1.02, `${small.co2G} g of 700`);
    assert.ok(large.co2G <= 1100 * 1.02, `${large.co2G} g of 1100`);
  });

  it('pauses in the evening peaks, and the chart shades them', () => {
    const policy = readPolicyFile(`${root}config/policies/deadline-budget.yaml`);
    const sim = simulate(policy, WEEK, { ...input(20_000), start: WEEK.points[0]!.time });
    const pausedAt = (hour: number) =>
      sim.timeline.some((e, k) => {
        const to = sim.timeline[k + 1]?.time.getTime() ?? sim.policy.finish!;
        return (
          e.decision.pause &&
          [0, 1, 2].some((d) => {
            const t = Date.UTC(2026, 3, 13 + d, hour);
            return e.time.getTime() <= t && t < to;
          })
        );
      });
    assert.ok(pausedAt(18), 'paused at 18:00 on some day');
    const chart = simulationChart(sim, WEEK.points, 'deadline-budget on uk-week', 'g/kWh');
    assert.match(chart, /^<svg [^>]*viewBox="0 0 900 320"/);
    assert.ok((chart.match(/class="paused"/g) ?? []).length >= 2);
  });
});
