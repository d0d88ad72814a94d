/**
 * `greentrainer policy check` and `policy simulate`: validate policy files, and rehearse a policy
 * on a carbon trace — the ρ timeline, the FLOPs and CO2 it saves, and a chart.
 */
import { writeFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';
import { readTraceFile, type Trace } from '../carbon/trace-file.js';
import { formatDurationMs } from '../config/duration.js';
import { InputFileError, readTextFile } from '../config/text-file.js';
import { ConfigFileError } from '../config/yaml-file.js';
import { readDaemonConfig } from '../daemon/config.js';
import { readRunLog } from '../daemon/run-log.js';
import { simulationChart } from '../policy/chart.js';
import { readPolicyFile } from '../policy/load.js';
import { round, unitLabel } from '../policy/maps.js';
import type { Policy } from '../policy/schema.js';
import { type SimulateInput, type Simulation, simulate, stepsPerInterval } from '../policy/simulate.js';
import type { Execution } from '../schedule/execute.js';
import { IntensityCurve } from '../schedule/intensity-curve.js';
import { machinePace, measuredCo2G, measureRun, type RunMeasurement } from './from-run.js';
import { formatFlops, formatTable, percent } from './table.js';

/**
 * Prints one line per valid file; then throws (exit 1) listing every problem of every invalid
 * file. A budget deadline must lie ahead of `now`.
 */
export function runPolicyCheck(
  files: readonly string[],
  out: (line: string) => void = console.log,
  now = new Date(),
): void {
  const failed: string[] = [];
  for (const file of files) {
    try {
      out(`${file}: ok (${describePolicy(readPolicyFile(file, now))})`);
    } catch (error) {
      if (!(error instanceof ConfigFileError || error instanceof InputFileError)) throw error;
      failed.push(error.message);
    }
  }
  if (failed.length > 0)
    throw new Error(
      [
        `${failed.length} of ${files.length} polic${files.length > 1 ? 'ies are' : 'y is'} invalid:`,
        ...failed,
      ].join('\n'),
    );
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
  /** Steps of the job, and seconds of one full-FT step on the target machine. */
  readonly steps?: number;
  readonly stepSeconds?: number;
  /** Modeled FLOPs of one full-FT step (`greentrainer plan`); without it FLOPs count full steps. */
  readonly stepFlops?: number;
  readonly powerRun: number;
  /** Default: 50 W with --steps, 0 with --from-run (whose meter's scale it would not share). */
  readonly powerIdle?: number;
  readonly selectionInterval: number;
  readonly fromRun?: string;
  readonly start?: string;
  readonly poll: number;
  readonly forecastHours: number;
  readonly chart?: string;
  readonly json: boolean;
}

interface Setup {
  readonly trace: Trace;
  readonly input: SimulateInput;
  readonly measured?: RunMeasurement;
}

export function runPolicySimulate(file: string, o: SimulateCommandOptions): string {
  const setup = o.fromRun ? fromRun(o.fromRun, o) : fromFlags(o);
  const policy = readPolicyOrDaemonConfig(file, setup.input.start);
  const sim = simulate(policy, setup.trace, setup.input);
  if (o.chart)
    writeFileSync(
      o.chart,
      simulationChart(sim, setup.trace.points, `${file} on ${o.trace}`, unitLabel(policy.unit)),
    );
  const json = simulationJson(sim, setup);
  if (o.json) return JSON.stringify(json, null, 2);
  return formatSimulation(sim, json, file, o);
}

/** A policy file, or a daemon config (its `policy:` block), as `policy simulate` takes either. */
function readPolicyOrDaemonConfig(file: string, start: Date): Policy {
  const doc = parseDocument(readTextFile(file, 'config'));
  const daemon = isMap(doc.contents) && doc.has('policy') && doc.has('job');
  return daemon ? readDaemonConfig(file, start).policy : readPolicyFile(file, start);
}

function fromFlags(o: SimulateCommandOptions): Setup {
  if (o.steps === undefined || o.stepSeconds === undefined)
    throw new Error('policy simulate needs --steps N and --step-seconds T, or --from-run DIR');
  const trace = readTraceFile(o.trace);
  const fullStepFlops = o.stepFlops ?? 1;
  const start = o.start ? new Date(o.start) : trace.points[0]!.time;
  if (Number.isNaN(start.getTime())) throw new Error(`--start: expected an ISO time, got ${o.start}`);
  return {
    trace,
    input: {
      model: {
        fullStepFlops,
        flopsPerSecond: fullStepFlops / o.stepSeconds,
        stepOverheadSeconds: 0,
        // One re-selection costs about one full-FT step (bench:selective: 0.99 on wasm, 1.01 native).
        selectionSeconds: o.stepSeconds,
        selectionIntervalSteps: o.selectionInterval,
        rhoFloor: 0,
        powerRunW: o.powerRun,
        powerIdleW: o.powerIdle ?? 50,
      },
      steps: o.steps,
      start,
      pollMs: o.poll,
      forecastHours: o.forecastHours,
    },
  };
}

function fromRun(dir: string, o: SimulateCommandOptions): Setup {
  if (o.steps !== undefined || o.stepSeconds !== undefined)
    throw new Error('--from-run measures the steps and their time: leave out --steps and --step-seconds');
  const measured = measureRun(readRunLog(dir), readTraceFile(o.trace), {
    powerIdleW: o.powerIdle ?? 0,
    powerRunW: o.powerRun,
  });
  return {
    trace: measured.trace,
    measured,
    input: {
      model: measured.model,
      steps: measured.steps,
      start: measured.start,
      readyAt: measured.readyAt,
      pollMs: o.poll,
      forecastHours: o.forecastHours,
    },
  };
}

/** R: one schedule's outcome, in the `--json` schema. */
function result(e: Execution) {
  return {
    steps: e.steps,
    finish: e.finish === undefined ? null : new Date(e.finish).toISOString(),
    mean_rho: round4(e.meanRho),
    flops: e.flops,
    energy_j: e.energyJ,
    co2_g: e.co2G,
    paused_s: e.pausedSeconds,
  };
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

function simulationJson(sim: Simulation, setup: Setup) {
  const start = sim.start.getTime();
  const end = sim.end.getTime();
  const count = (ends: readonly number[]) => stepsPerInterval(ends, setup.trace, start, end);
  const simulated = count(sim.policy.stepEnds);
  const m = setup.measured;
  const measuredSteps = m ? count(m.stepEnds) : undefined;
  const pace = m ? machinePace(m, simulated) : undefined;
  const curve = new IntensityCurve(setup.trace.points);
  return {
    policy: result(sim.policy),
    baselines: {
      full: result(sim.baselines.full),
      same_compute: result(sim.baselines.same_compute),
      shift_only: result(sim.baselines.shift_only),
    },
    ...(m
      ? {
          measured: {
            steps: m.stepEnds.length,
            finish: m.finish === undefined ? null : new Date(m.finish).toISOString(),
            mean_rho: round4(m.meanRho),
            flops: m.flops,
            energy_j: m.energyJ,
            co2_g: measuredCo2G(m, curve),
            paused_s: m.pausedSeconds,
          },
          model: m.model,
        }
      : {}),
    start: sim.start.toISOString(),
    deadline: sim.deadline?.toISOString() ?? null,
    intervals: simulated.map((row, k) => ({
      from: new Date(row.from).toISOString(),
      intensity: curve.at(row.from),
      steps: row.steps,
      ...(measuredSteps ? { measured_steps: measuredSteps[k]!.steps } : {}),
      // The machine's own speed in the interval (1: the run's mean; 1.2: 20 % slower), where it had
      // steps enough to tell: what the model, fitted on the whole run, cannot predict.
      ...(pace ? { machine_pace: pace[k] === undefined ? null : round4(pace[k]!) } : {}),
    })),
    timeline: sim.timeline.map((e) => ({
      time: e.time.toISOString(),
      intensity: e.intensity,
      ...e.decision,
    })),
  };
}

type SimulationJson = ReturnType<typeof simulationJson>;

export function formatSimulation(
  sim: Simulation,
  json: SimulationJson,
  file: string,
  o: SimulateCommandOptions,
): string {
  const rows = sim.timeline.map((e) => [
    e.time.toISOString().slice(0, 19).replace('T', ' '),
    round(e.intensity),
    e.decision.pause ? 'pause' : round(e.decision.rho),
    e.decision.reason,
  ]);
  const kg = (g: number) =>
    g >= 1000 ? `${(g / 1000).toFixed(2)} kg` : g >= 1 ? `${g.toFixed(1)} g` : `${(g * 1000).toFixed(2)} mg`;
  const energy = (j: number) =>
    j >= 3.6e6
      ? `${(j / 3.6e6).toFixed(2)} kWh`
      : j >= 3600
        ? `${(j / 3600).toFixed(2)} Wh`
        : `${j.toFixed(1)} J`;
  const flops = (f: number) => (o.stepFlops || o.fromRun ? formatFlops(f) : `${f.toFixed(0)} steps`);
  const policyG = json.policy.co2_g;
  const row = (name: string, r: ReturnType<typeof result>) => [
    name,
    String(r.steps),
    r.finish ? r.finish.slice(0, 19).replace('T', ' ') : 'not finished',
    r.mean_rho.toFixed(3),
    flops(r.flops),
    energy(r.energy_j),
    kg(r.co2_g),
    formatDurationMs(r.paused_s * 1000),
    r === json.policy ? '' : percent(r.co2_g > 0 ? 1 - policyG / r.co2_g : 0),
  ];
  const lines = [
    `${file} on ${o.trace}: ${sim.baselines.full.steps} steps; ${describeModel(o)}`,
    '',
    formatTable(['time (UTC)', 'g/kWh', 'ρ', 'reason'], rows, ['left', 'right', 'right', 'left']),
    `(${rows.length} decisions that changed ρ or pausing)`,
    '',
    formatTable(
      [
        'schedule',
        'steps',
        'finish (UTC)',
        'mean ρ',
        'compute',
        'energy',
        'CO2e',
        'paused',
        'policy saves CO2e',
      ],
      [
        row('policy', json.policy),
        row('full (ρ 1)', json.baselines.full),
        row('same_compute', json.baselines.same_compute),
        row('shift_only (ρ 1)', json.baselines.shift_only),
      ],
      ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ];
  if (sim.deadline) lines.push('', `deadline ${sim.deadline.toISOString()}`);
  if ('measured' in json && json.measured) {
    const m = json.measured;
    lines.push(
      '',
      `measured by the daemon: ${m.steps} steps, finish ${m.finish ?? 'not finished'}, mean ρ ${m.mean_rho.toFixed(3)}, paused ${formatDurationMs(m.paused_s * 1000)}`,
      formatTable(
        ['interval from', 'g/kWh', 'steps simulated', 'steps measured', 'machine pace'],
        json.intervals
          .slice(
            Math.max(
              0,
              json.intervals.findIndex((i) => i.steps > 0 || (i.measured_steps ?? 0) > 0),
            ),
            1 + json.intervals.findLastIndex((i) => i.steps > 0 || (i.measured_steps ?? 0) > 0),
          )
          .map((i) => [
            i.from.slice(11, 19),
            round(i.intensity),
            String(i.steps),
            String(i.measured_steps),
            i.machine_pace == null ? '–' : i.machine_pace.toFixed(2),
          ]),
        ['left', 'right', 'right', 'right', 'right'],
      ),
      'machine pace: the mean wall time between the interval’s steps (pauses, warm-up and re-selections left out) ÷ the run’s mean at the same ρ',
    );
  }
  if (o.chart) lines.push('', `chart written to ${o.chart}`);
  return lines.join('\n');
}

function describeModel(o: SimulateCommandOptions): string {
  if (o.fromRun) return `machine measured from ${o.fromRun}`;
  return `a full-FT step takes ${o.stepSeconds} s, ${o.powerRun} W running, ${o.powerIdle ?? 50} W paused, polled every ${formatDurationMs(o.poll)}`;
}
