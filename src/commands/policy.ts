/**
 * `greentrainer policy check` and `policy simulate`: validate policy files, and rehearse a policy
 * on a carbon trace — the ρ timeline, the FLOPs and CO2 it saves, and a chart.
 */
import { writeFileSync } from 'node:fs';
import { readTraceFile } from '../carbon/trace-file.js';
import { formatDurationMs } from '../config/duration.js';
import { simulationChart } from '../policy/chart.js';
import { readPolicyFile } from '../policy/load.js';
import { round, unitLabel } from '../policy/maps.js';
import type { Policy } from '../policy/schema.js';
import { type Simulation, simulate } from '../policy/simulate.js';
import { formatFlops, formatTable, percent } from './table.js';

/** One line per file; throws (exit 1) listing every problem when any file is invalid. */
export function runPolicyCheck(files: readonly string[]): string {
  return files.map((file) => `${file}: ok (${describePolicy(readPolicyFile(file))})`).join('\n');
}

export function describePolicy(p: Policy): string {
  const parts = [`${p.map.type} map`, `ρ ${p.rho_min}–${p.rho_max}`];
  if (p.hysteresis > 0) parts.push(`hysteresis ${percent(p.hysteresis)}`);
  if (p.min_dwell > 0) parts.push(`min_dwell ${formatDurationMs(p.min_dwell)}`);
  if (p.pause_above !== undefined) parts.push(`pause ≥ ${p.pause_above} ${unitLabel(p.unit)}`);
  if (p.windows.length > 0) parts.push(`${p.windows.length} window${p.windows.length > 1 ? 's' : ''}`);
  return parts.join(', ');
}

export interface SimulateCommandOptions {
  readonly trace: string;
  readonly jobFlops?: number;
  readonly flopsPerSecond: number;
  readonly joulesPerFlop: number;
  readonly forecastHours: number;
  readonly chart?: string;
  readonly json: boolean;
}

export function runPolicySimulate(file: string, o: SimulateCommandOptions): string {
  const policy = readPolicyFile(file);
  const trace = readTraceFile(o.trace);
  const sim = simulate(policy, trace, {
    ...o,
    ...(o.jobFlops === undefined ? {} : { jobFlops: o.jobFlops }),
  });
  if (o.chart) writeFileSync(o.chart, simulationChart(sim, `${file} on ${o.trace}`, unitLabel(policy.unit)));
  if (o.json) return JSON.stringify(simulationJson(sim), null, 2);
  return formatSimulation(sim, file, o);
}

function simulationJson(sim: Simulation) {
  return {
    steps: sim.steps.map((s) => ({
      time: s.time.toISOString(),
      intensity: s.intensity,
      ...s.decision,
      flops: s.flops,
      emissions_g: s.emissionsG,
    })),
    totals: { policy: sim.policy, full: sim.full, even: sim.even },
    ...(sim.finishedAt ? { finished_at: sim.finishedAt.toISOString() } : {}),
    ...(sim.deadline ? { deadline: sim.deadline.toISOString() } : {}),
  };
}

export function formatSimulation(sim: Simulation, file: string, o: SimulateCommandOptions): string {
  const rows = sim.steps
    .filter(
      (s, k) =>
        k === 0 ||
        s.decision.rho !== sim.steps[k - 1]!.decision.rho ||
        s.decision.pause !== sim.steps[k - 1]!.decision.pause,
    )
    .map((s) => [
      s.time.toISOString().slice(0, 16).replace('T', ' '),
      round(s.intensity),
      s.decision.pause ? 'pause' : round(s.decision.rho),
      s.decision.reason,
    ]);
  const kg = (g: number) => `${(g / 1000).toFixed(2)} kg`;
  const totals = [
    ['policy', formatFlops(sim.policy.flops), kg(sim.policy.emissionsG), ''],
    ['constant ρ = 1', formatFlops(sim.full.flops), kg(sim.full.emissionsG), saving(sim.full, sim.policy)],
    [
      'same FLOPs, evenly',
      formatFlops(sim.even.flops),
      kg(sim.even.emissionsG),
      saving(sim.even, sim.policy),
    ],
  ];
  const lines = [
    `${file} on ${o.trace}: ${sim.steps.length} intervals; ρ = 1 runs ${formatFlops(o.flopsPerSecond)}/s at ${o.joulesPerFlop} J/FLOP`,
    '',
    formatTable(['time (UTC)', 'g/kWh', 'ρ', 'reason'], rows, ['left', 'right', 'right', 'left']),
    `(${rows.length} changes shown of ${sim.steps.length} intervals)`,
    '',
    formatTable(['schedule', 'FLOPs', 'CO2e', 'policy saves (FLOPs, CO2e)'], totals, [
      'left',
      'right',
      'right',
      'left',
    ]),
  ];
  if (sim.deadline) {
    const done = sim.finishedAt
      ? `finished ${sim.finishedAt.toISOString()}`
      : 'NOT finished within the trace';
    lines.push('', `job: ${done}; deadline ${sim.deadline.toISOString()}`);
  }
  if (o.chart) lines.push('', `chart written to ${o.chart}`);
  return lines.join('\n');
}

function saving(
  base: { flops: number; emissionsG: number },
  p: { flops: number; emissionsG: number },
): string {
  const rel = (a: number, b: number) =>
    a > 0 ? percent(Math.abs(a - b) < 1e-9 * a ? 0 : (a - b) / a) : 'n/a';
  return `${rel(base.flops, p.flops)}, ${rel(base.emissionsG, p.emissionsG)}`;
}
