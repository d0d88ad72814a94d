import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { readTraceFile } from '../../src/carbon/trace-file.js';
import { planBudget } from '../../src/policy/budget.js';
import { simulationChart } from '../../src/policy/chart.js';
import { readPolicyFile } from '../../src/policy/load.js';
import { policySchema } from '../../src/policy/schema.js';
import { simulate } from '../../src/policy/simulate.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const WEEK = readTraceFile(`${root}config/traces/uk-week.csv`);
const DAY = readTraceFile(`${root}config/traces/uk-day.csv`);
const RATE = 1e14;
const o = { flopsPerSecond: RATE, joulesPerFlop: 3e-12, forecastHours: 24 };

describe('policy/budget and simulate', () => {
  it('fills the cleanest intervals first and exactly meets the work (fractional knapsack)', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const forecast = [150, 50, 200].map((v, k) => ({
      time: new Date(now.getTime() + (k + 1) * 3600_000),
      intensity: v,
    }));
    const plan = planBudget({
      now,
      deadline: new Date(now.getTime() + 4 * 3600_000),
      remainingFlops: RATE * 3600 * 2.2,
      flopsPerSecond: RATE,
      intervalMs: 3600_000,
      rhoMin: 0.4,
      rhoMax: 1,
      currentIntensity: 100,
      forecast,
    });
    assert.deepEqual(plan.intensity, [100, 150, 50, 200]);
    // 4 × 0.4 = 1.6 h at the floor; 0.6 h more go to the cleanest interval (50 g/kWh).
    assert.deepEqual(
      plan.rho.map((r) => Number(r.toFixed(6))),
      [0.4, 0.4, 1, 0.4],
    );
    assert.ok(plan.feasible);
  });

  it('refuses to rehearse a budget without the job’s FLOPs (job_flops or --job-flops)', () => {
    const policy = policySchema.parse({
      map: { type: 'budget', deadline: '12h', flops_per_second: RATE, interval: '30m' },
    });
    assert.throws(() => simulate(policy, DAY, o), /job_flops is not set/);
  });

  it('meets a 5-day deadline on a replayed week and emits less than the same FLOPs at constant ρ', () => {
    const policy = policySchema.parse({
      map: { type: 'budget', deadline: '120h', flops_per_second: RATE, interval: '30m' },
      rho_min: 0.35,
    });
    const jobFlops = RATE * 3600 * 60; // 60 h of full fine-tuning in 120 h
    const sim = simulate(policy, WEEK, { ...o, jobFlops });
    assert.ok(sim.finishedAt && sim.deadline, 'the job finished');
    assert.ok(
      sim.finishedAt <= sim.deadline,
      `finished ${sim.finishedAt.toISOString()}, deadline ${sim.deadline.toISOString()}`,
    );
    assert.ok(Math.abs(sim.policy.flops - jobFlops) / jobFlops < 1e-9);
    assert.ok(Math.abs(sim.even.flops - jobFlops) / jobFlops < 1e-9, 'the baseline does the same FLOPs');
    assert.ok(
      sim.policy.emissionsG < 0.93 * sim.even.emissionsG,
      `${sim.policy.emissionsG} vs ${sim.even.emissionsG}`,
    );
  });

  it('saves FLOPs and CO2 with the balanced policy on a UK-like day', () => {
    const sim = simulate(readPolicyFile(`${root}config/policies/balanced.yaml`), DAY, o);
    assert.ok(sim.policy.flops < sim.full.flops);
    assert.ok(sim.policy.emissionsG < sim.full.emissionsG);
    assert.ok(
      sim.policy.emissionsG < sim.even.emissionsG,
      'carbon awareness beats the same FLOPs spread evenly',
    );
    const chart = simulationChart(sim, 'balanced on uk-day', 'g/kWh');
    assert.match(chart, /^<svg [^>]*viewBox="0 0 900 320"/);
    assert.equal((chart.match(/<path /g) ?? []).length, 2);
  });
});
